"""feedback locale: the language each reporter reads, for the closing-the-loop email

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 10:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('feedback_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('feedback_report', schema=None) as batch_op:
        batch_op.drop_column('locale')
