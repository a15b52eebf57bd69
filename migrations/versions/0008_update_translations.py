"""update translations: an update's text in each other configured language

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 19:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_translation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_translation_message_id_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_translation')),
    sa.UniqueConstraint('message_id', 'locale', name=op.f('uq_message_translation_message_id'))
    )
    with op.batch_alter_table('message_translation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_translation_message_id'), ['message_id'], unique=False)


def downgrade():
    with op.batch_alter_table('message_translation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_translation_message_id'))

    op.drop_table('message_translation')
