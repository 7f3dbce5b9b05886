"""The tables, as of the latest schema version (``LATEST_VERSION``).

A new database is created from these definitions and stamped with ``LATEST_VERSION``; an older one
is brought forward by the numbered steps in ``migrations.py``. Change a table here only together
with a new migration step that makes the same change to existing databases.

Size matters (the seed budgets ~500 bytes per event, statistics and indexes included), so names
that repeat on every row, profiles, checkpoints, LoRAs and keywords, are stored once in their own
table and referred to by a small integer id.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import DDLCompiler

LATEST_VERSION = 6

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

# A profile is a user_id: one person's taste. Ids are never reused.
profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per checkpoint or LoRA key (tastebud.names.model_key): the name as the user last wrote
# it, for display, and its model family where known.
models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),  # "checkpoint" | "lora"
    sa.Column("key", sa.String(512), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("family", sa.String(40)),
    sa.UniqueConstraint("kind", "key", name="uq_models_kind_key"),
)

keywords = sa.Table(
    "keywords",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("keyword", sa.String(100), nullable=False, unique=True),
)

# The seed's table of every selection and rejection. Keywords are kept space-separated (a keyword
# never holds a space) and LoRAs as JSON [model id, strength] pairs.
user_preferences = sa.Table(
    "user_preferences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("generation_id", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("selected", sa.Boolean, nullable=False),
    sa.Column("implicit", sa.Boolean, nullable=False),
    sa.Column("stage", sa.SmallInteger, nullable=False),
    sa.Column("checkpoint_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
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
    # What the image looks like (tastebud.style.Style.to_text), where known (schema version 5).
    sa.Column("style", sa.String(60)),
    sa.UniqueConstraint("profile_id", "generation_id", name="uq_user_preferences_generation"),
)

# The seed's aggregate table, kept in the same transaction as the events. stat_type is a code of
# tastebud.store.cells.STAT_CODES; key1 and key2 are keyword or model ids (0 where unused). The
# primary key leads with key1, so that the ~40 cells one event moves (a keyword with the
# checkpoint, the same keyword with each LoRA) sit side by side: a recording dirties a dozen
# pages instead of forty, and commits a third faster. It ends with the profile, so one lookup
# finds a cell for this profile and for all profiles. Rate and confidence are computed by the database from the counts, so they can never
# disagree with them (virtual on SQLite, costing no bytes; stored on PostgreSQL).
preference_stats = sa.Table(
    "preference_stats",
    metadata,
    sa.Column("stat_type", sa.SmallInteger, nullable=False, autoincrement=False),
    sa.Column("key1", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("key2", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("profile_id", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("selected_count", sa.Integer, nullable=False),
    sa.Column("total_count", sa.Integer, nullable=False),
    sa.Column(
        "selection_rate",
        sa.Float,
        sa.Computed(
            "CASE WHEN total_count > 0 THEN selected_count * 1.0 / total_count ELSE 0.0 END",
            persisted=True,
        ),
    ),
    sa.Column(
        "confidence",
        sa.Float,
        sa.Computed(
            "CASE WHEN total_count >= 20 THEN 1.0 ELSE total_count / 20.0 END", persisted=True
        ),
    ),
    sa.PrimaryKeyConstraint("key1", "stat_type", "key2", "profile_id"),
    sqlite_with_rowid=False,
)

# The seed's list of rejected images that may be deleted once a vision model has described them.
image_cleanup = sa.Table(
    "image_cleanup",
    metadata,
    sa.Column("profile_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation_id", sa.String(200), primary_key=True),
    sa.Column("image_path", sa.Text, nullable=False),
    sa.Column("vision_analyzed", sa.Boolean, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


# The default strategy's fitted state per profile (tastebud.learning.fitted, as JSON): a cache that
# a refit rebuilds from the statistics and the events, kept so that a restart or a second worker
# does not refit (schema version 3). ``events`` is how many events the profile had at the fit.
fitted_state = sa.Table(
    "fitted_state",
    metadata,
    sa.Column("profile_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
)


# Images whose metadata was read (by an import or a watch) and which await review. One row per
# file content per profile: the same file imported twice, or copied, is one generation. The
# metadata is the JSON of tastebud.importers.metadata.ImageMetadata; judging a generation records
# the preference event with generation id "image:<content_hash>" (schema version 2).
generations = sa.Table(
    "generations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("reviewed_at", sa.DateTime(timezone=True)),
    # What the image looks like (tastebud.style.Style.to_text), set by the style pass after the
    # import (decoding the pixels is 20 times slower than reading the metadata); "" where the
    # pixels could not be read (schema version 5).
    sa.Column("style", sa.String(60)),
    sa.UniqueConstraint("profile_id", "content_hash", name="uq_generations_content"),
    sa.Index("ix_generations_queue", "profile_id", "status", "id"),
)


# Rejected images that ``tastebud cleanup --apply`` moved to the trash folder, one row per file
# moved, so that ``--undo`` can put them back (schema version 6). A batch is one cleanup.
trashed = sa.Table(
    "trashed",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("batch_id", sa.String(40), nullable=False),
    sa.Column("profile_id", sa.Integer, sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("generation_id", sa.String(200), nullable=False),
    sa.Column("original_path", sa.Text, nullable=False),
    sa.Column("trash_path", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("restored_at", sa.DateTime(timezone=True)),
    sa.Index("ix_trashed_profile_batch", "profile_id", "batch_id"),
)


@compiles(sa.Computed, "sqlite")
def _virtual_on_sqlite(element: sa.Computed, compiler: DDLCompiler, **kw: object) -> str:
    # PostgreSQL before 18 knows only STORED generated columns; SQLite can compute them on read
    # and store nothing, which keeps a statistic's row small.
    text = compiler.sql_compiler.process(element.sqltext, include_table=False, literal_binds=True)
    return f"GENERATED ALWAYS AS ({text}) VIRTUAL"
