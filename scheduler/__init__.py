"""The plan: who teaches which receiving classes, from which output classroom, when.

Holds the school directory the plan is made from (regions, schools, bell
schedules, classrooms, teachers, receiving classes, needs, local timetables).
Imports no other Sanke package.
"""
