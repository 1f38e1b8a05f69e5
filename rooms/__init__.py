"""Live lessons: rooms opened by the timetable, roles and grants, presence,
interaction, network patrol and quality (DESIGN.md §3). Built by the live-lessons issue.
"""
