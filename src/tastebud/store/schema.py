"""The tables, as of the latest schema version (``LATEST_VERSION``).

A new database is created from these definitions and stamped with ``LATEST_VERSION``; an older one
is brought forward by the numbered steps in ``migrations.py``. Change a table here only together
with a new migration step that makes the same change to existing databases.
"""

from __future__ import annotations

import sqlalchemy as sa

LATEST_VERSION = 1

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per checkpoint or LoRA key: the name as the user last wrote it, for display, and its
# model family where known.
models = sa.Table(
    "models",
    metadata,
    sa.Column("kind", sa.String(10), primary_key=True),  # "checkpoint" | "lora"
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("family", sa.String(40)),
    sqlite_with_rowid=False,
)

# The seed's table of every selection and rejection. Compact encodings keep an event within the
# seed's ~500-byte budget: keywords space-separated (a keyword never holds a space), LoRAs as JSON
# [name, strength] pairs, NULL for absent optional fields.
user_preferences = sa.Table(
    "user_preferences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(200), nullable=False),
    sa.Column("generation_id", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("selected", sa.Boolean, nullable=False),
    sa.Column("implicit", sa.Boolean, nullable=False),
    sa.Column("stage", sa.SmallInteger, nullable=False),
    sa.Column("checkpoint", sa.String(512), nullable=False),
    sa.Column("model_family", sa.String(40)),
    sa.Column("loras", sa.Text),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("keywords", sa.Text, nullable=False),
    sa.Column("negative_prompt", sa.Text),
    sa.Column("session_id", sa.String(200)),
    sa.Column("batch_id", sa.String(200)),
    sa.Column("feedback", sa.Text),
    sa.Column("image_path", sa.Text),
    sa.Column("vision_description", sa.Text),
    sa.Column("vision_themes", sa.Text),
    sa.Column("propensity", sa.Float),
    sa.UniqueConstraint("user_id", "generation_id", name="uq_user_preferences_generation"),
)

# The seed's aggregate table, kept in the same transaction as the events. The key is split in two
# columns (see tastebud.learning.keys) so that names holding ":" stay unambiguous; the primary key
# leads with the cell so one lookup finds a cell for this profile and for all profiles.
preference_stats = sa.Table(
    "preference_stats",
    metadata,
    sa.Column("stat_type", sa.String(20), primary_key=True),
    sa.Column("key1", sa.String(512), primary_key=True),
    sa.Column("key2", sa.String(512), primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("selected_count", sa.Integer, nullable=False),
    sa.Column("total_count", sa.Integer, nullable=False),
    sa.Column("selection_rate", sa.Float, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sqlite_with_rowid=False,
)

# The seed's list of rejected images that may be deleted once a vision model has described them.
image_cleanup = sa.Table(
    "image_cleanup",
    metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("generation_id", sa.String(200), primary_key=True),
    sa.Column("image_path", sa.Text, nullable=False),
    sa.Column("vision_analyzed", sa.Boolean, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
