"""Recording and review: crash-safe archive without transcoding, HLS/MP4, composites,
time-coded comments, rubrics and clips (DESIGN.md §7). Built by the recorder issue.
"""
