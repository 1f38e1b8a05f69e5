"""plans, dated lessons and solve runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:13:29.827014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('plans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('demand', sa.Integer(), nullable=False),
    sa.Column('scheduled', sa.Integer(), nullable=False),
    sa.Column('objective', sa.Float(), nullable=False),
    sa.Column('bound', sa.Float(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=True),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['plans.id'], name=op.f('fk_plans_parent_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    op.create_table('dated_lessons',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('start', sa.Time(), nullable=False),
    sa.Column('end', sa.Time(), nullable=False),
    sa.Column('teacher_id', sa.String(length=64), nullable=False),
    sa.Column('output_classroom_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('class_ids', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_dated_lessons_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dated_lessons'))
    )
    with op.batch_alter_table('dated_lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dated_lessons_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_dated_lessons_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('plan_lessons',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('teacher_id', sa.String(length=64), nullable=False),
    sa.Column('output_classroom_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('class_ids', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_lessons_plan_id_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'lesson_id', name=op.f('pk_plan_lessons'))
    )
    op.create_table('plan_unmet',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('periods', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_unmet_plan_id_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'class_id', 'subject', name=op.f('pk_plan_unmet'))
    )
    op.create_table('previous_pairings',
    sa.Column('class_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('teacher_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['receiving_classes.id'], name=op.f('fk_previous_pairings_class_id_receiving_classes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('class_id', 'subject', name=op.f('pk_previous_pairings'))
    )
    op.create_table('solve_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('objective', sa.Float(), nullable=True),
    sa.Column('bound', sa.Float(), nullable=True),
    sa.Column('demand', sa.Integer(), nullable=True),
    sa.Column('unmet', sa.Integer(), nullable=True),
    sa.Column('time_limit', sa.Float(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_solve_runs'))
    )


def downgrade() -> None:
    op.drop_table('solve_runs')
    op.drop_table('previous_pairings')
    op.drop_table('plan_unmet')
    op.drop_table('plan_lessons')
    with op.batch_alter_table('dated_lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dated_lessons_teacher_id'))
        batch_op.drop_index(batch_op.f('ix_dated_lessons_day'))

    op.drop_table('dated_lessons')
    op.drop_table('plans')
    op.drop_table('calendar_days')
