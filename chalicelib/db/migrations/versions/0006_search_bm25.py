"""Collections search: a BM25F term index of each item's current analysis, kept by a trigger.

- ``search_fold(text)``: accents folded (é -> e, ß -> ss, ...) by ``translate``, because the
  embedded PostgreSQL ships no ``unaccent``; the same function folds queries.
- ``search_docs``: one row per item with a current analysis (user, category, weighted length).
- ``search_terms``: the postings, (user_id, term, item_id) -> field-weighted term frequency, the
  document's weighted length and category copied in so a query reads postings only.
- ``search_stats``: per user, the number of indexed items and their total weighted length (BM25's
  N and average length), kept by a trigger on ``search_docs`` (inserts, deletes and cascades).
- ``search_vocabulary``: every term a user's analyses have held (C collation: prefix scans), used
  to expand misspelt or partial query words; stale terms are harmless (they match no posting).
- ``ix_embeddings_user_model``: vector search reads only the query model's vectors of a user.
- trigger ``items_search_index``: when ``items.current_analysis_id`` changes, the item's rows are
  replaced with the new analysis's (English stemming and stop words via ``to_tsvector``). Field
  weights are in ``search_index_item()``; changing them means re-running the backfill below.

Existing rows are backfilled. PostgreSQL only, like 0004_collections.

Revision ID: 0006_search_bm25
Revises: 0005_item_resends
"""

import unicodedata

from alembic import op

revision = "0006_search_bm25"
down_revision = "0005_item_resends"
branch_labels = None
depends_on = None


def _fold_maps() -> tuple[str, str]:
    """Latin letters with diacritics -> their base letter (one character each, for translate)."""
    source, target = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFKD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            source.append(char)
            target.append(base)
    for char, base in (("ø", "o"), ("Ø", "O"), ("đ", "d"), ("Đ", "D"), ("ł", "l"), ("Ł", "L"), ("ı", "i")):
        source.append(char)
        target.append(base)
    return "".join(source), "".join(target)


FOLD_FROM, FOLD_TO = _fold_maps()

# Field weights (BM25F): what the headline, category and read text say counts most.
INDEX_FUNCTION = """
CREATE OR REPLACE FUNCTION search_index_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_terms WHERE item_id = NEW.id;
    DELETE FROM search_docs WHERE item_id = NEW.id;
    IF NEW.current_analysis_id IS NULL THEN
        RETURN NULL;
    END IF;
    WITH lex AS (
    SELECT l.lexeme AS term, sum(f.weight * coalesce(array_length(l.positions, 1), 1))::real AS tf
    FROM analyses a
    CROSS JOIN LATERAL (VALUES
        (3.0, a.headline),
        (2.0, a.category),
        (1.5, (SELECT string_agg(value, ' ') FROM jsonb_array_elements_text(
                   CASE WHEN jsonb_typeof(a.raw_response->'subcategories') = 'array'
                        THEN a.raw_response->'subcategories' ELSE '[]'::jsonb END))),
        (1.5, a.summary),
        (2.0, a.raw_response->'image_details'->>'extracted_text'),
        (2.0, a.raw_response->'media_metadata'->>'location'),
        (1.0, a.raw_response->'media_metadata'->>'platform'),
        (1.0, (SELECT string_agg(value, ' ') FROM jsonb_array_elements_text(
                   CASE WHEN jsonb_typeof(a.raw_response->'image_details'->'objects') = 'array'
                        THEN a.raw_response->'image_details'->'objects' ELSE '[]'::jsonb END))),
        (1.0, (SELECT string_agg(value, ' ') FROM jsonb_array_elements_text(
                   CASE WHEN jsonb_typeof(a.raw_response->'image_details'->'themes') = 'array'
                        THEN a.raw_response->'image_details'->'themes' ELSE '[]'::jsonb END)))
    ) AS f(weight, body)
    CROSS JOIN LATERAL unnest(to_tsvector('english'::regconfig, search_fold(f.body))) AS l
    WHERE a.id = NEW.current_analysis_id AND f.body IS NOT NULL
    GROUP BY l.lexeme
    ), doc AS (
    INSERT INTO search_docs (item_id, analysis_id, user_id, category, length)
    SELECT NEW.id, a.id, NEW.user_id, a.category, coalesce((SELECT sum(tf) FROM lex), 0)
    FROM analyses a WHERE a.id = NEW.current_analysis_id
    RETURNING length, category
    ), posted AS (
    INSERT INTO search_terms (user_id, term, item_id, tf, length, category)
    SELECT NEW.user_id, lex.term, NEW.id, lex.tf, doc.length, doc.category FROM lex CROSS JOIN doc
    )
    INSERT INTO search_vocabulary (user_id, term)
    SELECT NEW.user_id, term FROM lex ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""

STATS_FUNCTION = """
CREATE OR REPLACE FUNCTION search_count_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO search_stats (user_id, docs, total_length) VALUES (NEW.user_id, 1, NEW.length)
        ON CONFLICT (user_id) DO UPDATE SET docs = search_stats.docs + 1,
                                            total_length = search_stats.total_length + EXCLUDED.total_length;
    ELSE
        UPDATE search_stats SET docs = docs - 1, total_length = total_length - OLD.length
        WHERE user_id = OLD.user_id;
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    fold_from = FOLD_FROM.replace("'", "''")
    fold_to = FOLD_TO.replace("'", "''")
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION search_fold(body TEXT) RETURNS TEXT
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT lower(translate(replace(replace(replace(replace(replace(coalesce(body, ''),
                'ß', 'ss'), 'æ', 'ae'), 'Æ', 'AE'), 'œ', 'oe'), 'Œ', 'OE'), '{fold_from}', '{fold_to}'))
        $$
        """
    )
    op.execute(
        """
        CREATE TABLE search_docs (
            item_id VARCHAR(64) PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
            analysis_id VARCHAR(64) NOT NULL,
            user_id VARCHAR(255) NOT NULL,
            category VARCHAR(255),
            length REAL NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_search_docs_user_id ON search_docs (user_id) INCLUDE (length)")
    op.execute(
        """
        CREATE TABLE search_terms (
            user_id VARCHAR(255) NOT NULL,
            term TEXT COLLATE "C" NOT NULL,
            item_id VARCHAR(64) NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            tf REAL NOT NULL,
            length REAL NOT NULL,
            category VARCHAR(255),
            PRIMARY KEY (user_id, term, item_id)
        )
        """
    )
    op.execute("CREATE INDEX ix_search_terms_item_id ON search_terms (item_id)")
    op.execute(
        """
        CREATE TABLE search_vocabulary (
            user_id VARCHAR(255) NOT NULL,
            term TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (user_id, term)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE search_stats (
            user_id VARCHAR(255) PRIMARY KEY,
            docs INTEGER NOT NULL,
            total_length DOUBLE PRECISION NOT NULL
        )
        """
    )
    op.execute(STATS_FUNCTION)
    op.execute(
        """
        CREATE TRIGGER search_docs_stats AFTER INSERT OR DELETE ON search_docs
        FOR EACH ROW EXECUTE FUNCTION search_count_doc()
        """
    )
    # Vector search counts and scans a user's vectors of one model: index-only with this index.
    op.execute("CREATE INDEX ix_embeddings_user_model ON embeddings (user_id, embedding_model, embedding_dimensions)")
    op.execute(INDEX_FUNCTION)
    op.execute(
        """
        CREATE TRIGGER items_search_index
        AFTER INSERT OR UPDATE OF current_analysis_id ON items
        FOR EACH ROW EXECUTE FUNCTION search_index_item()
        """
    )
    # Backfill: touching the column fires the trigger for every item that has an analysis.
    op.execute("UPDATE items SET current_analysis_id = current_analysis_id WHERE current_analysis_id IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_embeddings_user_model")
    op.execute("DROP TRIGGER IF EXISTS items_search_index ON items")
    op.execute("DROP FUNCTION IF EXISTS search_index_item()")
    op.execute("DROP TABLE IF EXISTS search_vocabulary")
    op.execute("DROP TRIGGER IF EXISTS search_docs_stats ON search_docs")
    op.execute("DROP FUNCTION IF EXISTS search_count_doc()")
    op.execute("DROP TABLE IF EXISTS search_stats")
    op.execute("DROP TABLE IF EXISTS search_terms")
    op.execute("DROP TABLE IF EXISTS search_docs")
    op.execute("DROP FUNCTION IF EXISTS search_fold(TEXT)")
