"""Collections: items, analyses (tsvector), embeddings (pgvector, HNSW).

PostgreSQL only: the product needs pgvector and full-text search, so on MySQL/MariaDB this
revision is a no-op (the collections API always runs on DATABASE_URL, a PostgreSQL database).

Revision ID: 0004_collections
Revises: 0001
"""

from alembic import op

revision = "0004_collections"
down_revision = "0001"
branch_labels = ("collections",)
depends_on = None

# Weighted document of the analysis: A headline+category, B summary, C objects+themes,
# D extracted text. jsonb ->> and jsonb::text are immutable, so this can be a stored column.
SEARCH_VECTOR = """
    setweight(to_tsvector('english'::regconfig,
        coalesce(raw_response->>'headline', '') || ' ' || coalesce(category, '')), 'A')
 || setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B')
 || setweight(to_tsvector('english'::regconfig,
        coalesce((raw_response->'image_details'->'objects')::text, '') || ' ' ||
        coalesce((raw_response->'image_details'->'themes')::text, '') || ' ' ||
        coalesce((raw_response->'subcategories')::text, '')), 'C')
 || setweight(to_tsvector('english'::regconfig,
        coalesce(raw_response->'image_details'->>'extracted_text', '')), 'D')
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        """
        CREATE TABLE items (
            id VARCHAR(64) PRIMARY KEY,
            user_id VARCHAR(255) NOT NULL,
            filename VARCHAR(255) NOT NULL,
            file_path TEXT NOT NULL,
            mime_type VARCHAR(100) NOT NULL,
            status VARCHAR(20) NOT NULL DEFAULT 'pending',
            error TEXT,
            thumbnail_path TEXT,
            thumbnail_mime_type VARCHAR(100),
            content_sha256 VARCHAR(64),
            current_analysis_id VARCHAR(64),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT uq_items_file_path UNIQUE (file_path),
            CONSTRAINT ck_items_status CHECK (status IN ('pending', 'processing', 'ready', 'failed'))
        )
        """
    )
    op.execute("CREATE INDEX ix_items_user_id_created_at ON items (user_id, created_at DESC, id DESC)")
    op.execute(
        f"""
        CREATE TABLE analyses (
            id VARCHAR(64) PRIMARY KEY,
            item_id VARCHAR(64) NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            user_id VARCHAR(255) NOT NULL,
            version INTEGER NOT NULL,
            request_id VARCHAR(255) NOT NULL,
            category VARCHAR(255),
            headline TEXT,
            summary TEXT,
            raw_response JSONB NOT NULL,
            provider_used VARCHAR(64),
            model_used VARCHAR(128),
            trace_id VARCHAR(128),
            search_vector TSVECTOR GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT uq_analyses_item_id_version UNIQUE (item_id, version),
            CONSTRAINT uq_analyses_request_id UNIQUE (request_id)
        )
        """
    )
    op.execute("CREATE INDEX ix_analyses_user_id ON analyses (user_id)")
    op.execute("CREATE INDEX ix_analyses_search_vector ON analyses USING gin (search_vector)")
    op.execute(
        """
        ALTER TABLE items ADD CONSTRAINT fk_items_current_analysis_id_analyses
            FOREIGN KEY (current_analysis_id) REFERENCES analyses (id) ON DELETE SET NULL
            DEFERRABLE INITIALLY DEFERRED
        """
    )
    op.execute(
        """
        CREATE TABLE embeddings (
            id VARCHAR(64) PRIMARY KEY,
            item_id VARCHAR(64) NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            analysis_id VARCHAR(64) NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
            user_id VARCHAR(255) NOT NULL,
            vector vector(1024) NOT NULL,
            embedding_model VARCHAR(128) NOT NULL,
            embedding_dimensions INTEGER NOT NULL,
            embedding_source JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT uq_embeddings_analysis_id UNIQUE (analysis_id)
        )
        """
    )
    op.execute("CREATE INDEX ix_embeddings_user_id ON embeddings (user_id)")
    op.execute("CREATE INDEX ix_embeddings_item_id ON embeddings (item_id)")
    op.execute(
        "CREATE INDEX ix_embeddings_vector_hnsw ON embeddings USING hnsw (vector vector_cosine_ops)"
        " WITH (m = 16, ef_construction = 64)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS embeddings")
    op.execute("ALTER TABLE items DROP CONSTRAINT IF EXISTS fk_items_current_analysis_id_analyses")
    op.execute("DROP TABLE IF EXISTS analyses")
    op.execute("DROP TABLE IF EXISTS items")
