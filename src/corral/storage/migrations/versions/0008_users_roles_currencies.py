"""roles, user admin columns, profile details, currencies, grant access type

Revision ID: 0006
Revises: 0006_tags_attachments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_users_roles_currencies'
down_revision = '0006_tags_attachments'
branch_labels = None
depends_on = None

# As corral.storage.database: ids are ID_BASE + the "id" counter.
ID_BASE = 4_876_876_000_000_000_000
TOP_ROLE = "CEO"


def _roles_for_existing_users(conn: sa.Connection) -> None:
    """A database seeded before roles existed: one role per distinct `users.role` name, the
    CEO at the top and every other reporting to it; users point at theirs by `role_id`."""
    users = sa.table("users", sa.column("id", sa.BigInteger), sa.column("role", sa.String),
                     sa.column("role_id", sa.BigInteger))
    roles = sa.table("roles", sa.column("id", sa.BigInteger), sa.column("name", sa.String),
                     sa.column("reporting_to", sa.BigInteger),
                     sa.column("share_with_peers", sa.Boolean))
    counters = sa.table("counters", sa.column("name", sa.String),
                        sa.column("value", sa.BigInteger))
    names = sorted({r[0] for r in conn.execute(sa.select(users.c.role))})
    if not names:
        return
    names = [TOP_ROLE] + [n for n in names if n != TOP_ROLE]
    end = conn.execute(sa.select(counters.c.value).where(counters.c.name == "id")).scalar_one()
    conn.execute(sa.update(counters).where(counters.c.name == "id")
                 .values(value=end + len(names)))
    ids = {name: ID_BASE + end + i for i, name in enumerate(names)}
    conn.execute(sa.insert(roles), [
        {"id": ids[n], "name": n, "reporting_to": None if n == TOP_ROLE else ids[TOP_ROLE],
         "share_with_peers": True} for n in names])
    for name, role_id in ids.items():
        conn.execute(sa.update(users).where(users.c.role == name).values(role_id=role_id))


def upgrade() -> None:
    op.create_table('roles',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('reporting_to', sa.BigInteger(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('share_with_peers', sa.Boolean(), nullable=False),
    sa.Column('forecast_manager', sa.BigInteger(), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_time', sa.DateTime(), nullable=True),
    sa.Column('modified_by', sa.BigInteger(), nullable=True),
    sa.Column('modified_time', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('currencies',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('iso_code', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('symbol', sa.String(length=20), nullable=False),
    sa.Column('exchange_rate', sa.String(length=32), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_base', sa.Boolean(), nullable=False),
    sa.Column('prefix_symbol', sa.Boolean(), nullable=False),
    sa.Column('format', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_time', sa.DateTime(), nullable=False),
    sa.Column('modified_by', sa.BigInteger(), nullable=False),
    sa.Column('modified_time', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('iso_code')
    )
    # Plain ADD COLUMNs, never a batch copy: on SQLite (foreign keys on) a copy of `profiles`
    # would have to drop a table `users` refers to.
    op.add_column('profiles', sa.Column('description', sa.Text(), nullable=True))
    op.add_column('profiles', sa.Column('custom', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('profiles', sa.Column('created_by', sa.BigInteger(), nullable=True))
    op.add_column('profiles', sa.Column('created_time', sa.DateTime(), nullable=True))
    op.add_column('profiles', sa.Column('modified_by', sa.BigInteger(), nullable=True))
    op.add_column('profiles', sa.Column('modified_time', sa.DateTime(), nullable=True))
    op.add_column('oauth_tokens', sa.Column('access_type', sa.String(length=10), nullable=True))
    op.add_column('users', sa.Column('role_id', sa.BigInteger(), nullable=True))
    op.add_column('users', sa.Column('confirmed', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('users', sa.Column('attributes', sa.JSON(), nullable=True))
    op.add_column('users', sa.Column('created_by', sa.BigInteger(), nullable=True))
    op.add_column('users', sa.Column('modified_by', sa.BigInteger(), nullable=True))
    op.add_column('users', sa.Column('modified_time', sa.DateTime(), nullable=True))

    _roles_for_existing_users(op.get_bind())

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('role_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_foreign_key('fk_users_role_id_roles', 'roles', ['role_id'], ['id'])
        batch_op.drop_column('role')


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=100), nullable=True))
    users = sa.table("users", sa.column("role", sa.String), sa.column("role_id", sa.BigInteger))
    roles = sa.table("roles", sa.column("id", sa.BigInteger), sa.column("name", sa.String))
    op.get_bind().execute(sa.update(users).values(role=sa.select(roles.c.name).where(
        roles.c.id == users.c.role_id).scalar_subquery()))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('role', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_constraint('fk_users_role_id_roles', type_='foreignkey')
        batch_op.drop_column('modified_time')
        batch_op.drop_column('modified_by')
        batch_op.drop_column('created_by')
        batch_op.drop_column('attributes')
        batch_op.drop_column('confirmed')
        batch_op.drop_column('role_id')

    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy (see upgrade).
    op.execute("ALTER TABLE oauth_tokens DROP COLUMN access_type")
    for column in ('modified_time', 'modified_by', 'created_time', 'created_by', 'custom',
                   'description'):
        op.execute(f"ALTER TABLE profiles DROP COLUMN {column}")

    op.drop_table('currencies')
    op.drop_table('roles')
