"""``sanke demo`` keeps lessons live: whenever none of its demo lessons runs, it lays
two new ones over the present moment and fills their rooms with simulated people.

Started by the app's lifespan when ``settings.demo_live`` is on; stopped with it.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import timedelta

from web.demo import DEMO_CLASSROOM, DEMO_TEACHER
from web.demo_live import live_lessons, run_demo_classrooms, signalling_url
from web.services import Services

logger = logging.getLogger(__name__)

WAIT_FOR_PLAN = 5.0  # seconds between looks for a published plan


async def keep_demo_lessons_live(services: Services, base_url: str) -> None:
    """Until cancelled: demo lessons now, their simulated classrooms, and again."""
    plans = services.schedule.plans
    while True:
        plan = await asyncio.to_thread(plans.published)
        if plan is None or not plan.timetable.lessons:
            await asyncio.sleep(WAIT_FOR_PLAN)
            continue
        now = services.now()
        directory = await asyncio.to_thread(services.lessons.directory)
        lessons = live_lessons(directory, plan, now, prefer=(DEMO_TEACHER, DEMO_CLASSROOM))
        added = await asyncio.to_thread(plans.add_occurrences, lessons)
        logger.info("Demo: %d lessons live now (%d new)", len(lessons), len(added))
        await services.lessons.step(now)  # open their rooms at once
        ends = max(services.lessons.view(o.id).ends_at for o in lessons)
        until = ends + services.lessons.timing.end_after + timedelta(seconds=5)
        stop = asyncio.Event()
        runner = asyncio.create_task(
            run_demo_classrooms(
                signalling_url(base_url), services.media_secret, lessons, directory, stop
            )
        )
        try:
            await asyncio.sleep(max(1.0, (until - services.now()).total_seconds()))
        finally:
            stop.set()
            with suppress(asyncio.CancelledError):
                await runner
