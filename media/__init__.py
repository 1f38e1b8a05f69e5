"""Live media: the SFU port with its embedded (aiortc) and LiveKit adapters, and ingest.

Knows rooms, participants, tracks and grants; nothing of schools or lessons
(DESIGN.md §5). Built by the embedded-SFU and scale issues.
"""
