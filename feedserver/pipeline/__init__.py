"""Carrying a change to every feed: refresh, rendering, jobs, the enqueue seam, schedules."""
