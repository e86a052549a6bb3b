"""Collections search: document frequencies and surface words kept in ``search_vocabulary``.

- ``search_vocabulary.df``: how many of the user's items hold the term (BM25's df), kept by two
  statement-level triggers on ``search_terms`` (inserts, deletes and cascades), so a query reads
  one row per term instead of counting the term's postings (thousands for a common word in a
  10k-item collection).
- ``search_vocabulary.word``: the shortest word of the analyses that stems to the term
  ("exercise" for "exercis"), for the keyword mode's meaning expansion, which compares words,
  not stems.
- ``search_terms`` gets a covering index (term postings with tf, length, category), so scoring
  a term's postings is an index-only scan.

The index is rebuilt for existing rows. PostgreSQL only, like 0006_search_bm25.

Revision ID: 0008_search_term_df
Revises: 0007_item_awaiting_upload
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0008_search_term_df"
down_revision = "0007_item_awaiting_upload"
branch_labels = None
depends_on = None

# Field weights (BM25F) as in 0006_search_bm25; the vocabulary also records a surface word per term.
INDEX_FUNCTION = """
CREATE OR REPLACE FUNCTION search_index_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_terms WHERE item_id = NEW.id;
    DELETE FROM search_docs WHERE item_id = NEW.id;
    IF NEW.current_analysis_id IS NULL THEN
        RETURN NULL;
    END IF;
    WITH body AS (
    SELECT f.weight, search_fold(f.body) AS body
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
    WHERE a.id = NEW.current_analysis_id AND f.body IS NOT NULL
    ), lex AS (
    SELECT l.lexeme AS term, sum(b.weight * coalesce(array_length(l.positions, 1), 1))::real AS tf
    FROM body b CROSS JOIN LATERAL unnest(to_tsvector('english'::regconfig, b.body)) AS l
    GROUP BY l.lexeme
    ), surface AS (
    SELECT DISTINCT ON (l.lexeme) l.lexeme AS term, w.word
    FROM (SELECT DISTINCT word FROM body b CROSS JOIN LATERAL regexp_split_to_table(b.body, '[^[:alpha:]]+') AS word
          WHERE length(word) BETWEEN 3 AND 40) AS w
    CROSS JOIN LATERAL unnest(to_tsvector('english'::regconfig, w.word)) AS l
    ORDER BY l.lexeme, length(w.word), w.word
    ), doc AS (
    INSERT INTO search_docs (item_id, analysis_id, user_id, category, length)
    SELECT NEW.id, a.id, NEW.user_id, a.category, coalesce((SELECT sum(tf) FROM lex), 0)
    FROM analyses a WHERE a.id = NEW.current_analysis_id
    RETURNING length, category
    ), posted AS (
    INSERT INTO search_terms (user_id, term, item_id, tf, length, category)
    SELECT NEW.user_id, lex.term, NEW.id, lex.tf, doc.length, doc.category FROM lex CROSS JOIN doc
    )
    INSERT INTO search_vocabulary (user_id, term, word)
    SELECT NEW.user_id, lex.term, s.word FROM lex LEFT JOIN surface s ON s.term = lex.term ORDER BY lex.term
    ON CONFLICT (user_id, term) DO UPDATE SET word = coalesce(search_vocabulary.word, EXCLUDED.word);
    RETURN NULL;
END
$$
"""

# df = the number of postings of (user, term); rows are locked in term order (no deadlock between
# two items of one user indexed at once).
DF_FUNCTIONS = """
CREATE OR REPLACE FUNCTION search_count_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_vocabulary (user_id, term, df)
    SELECT user_id, term, count(*) FROM added GROUP BY user_id, term ORDER BY user_id, term
    ON CONFLICT (user_id, term) DO UPDATE SET df = search_vocabulary.df + EXCLUDED.df;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION search_uncount_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_vocabulary v SET df = greatest(v.df - g.n, 0)
    FROM (SELECT user_id, term, count(*) AS n FROM removed GROUP BY user_id, term ORDER BY user_id, term) AS g
    WHERE v.user_id = g.user_id AND v.term = g.term;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_vocabulary ADD COLUMN df INTEGER NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE search_vocabulary ADD COLUMN word TEXT")
    op.execute(DF_FUNCTIONS)
    op.execute(
        """
        CREATE TRIGGER search_terms_df_insert AFTER INSERT ON search_terms
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION search_count_postings()
        """
    )
    op.execute(
        """
        CREATE TRIGGER search_terms_df_delete AFTER DELETE ON search_terms
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION search_uncount_postings()
        """
    )
    op.execute("CREATE INDEX ix_search_terms_postings ON search_terms (user_id, term) INCLUDE (item_id, tf, length, category)")
    op.execute(INDEX_FUNCTION)
    # Rebuild: empty the index, then touching the column re-indexes every item with an analysis.
    op.execute("TRUNCATE search_terms, search_docs, search_stats, search_vocabulary")
    op.execute("UPDATE items SET current_analysis_id = current_analysis_id WHERE current_analysis_id IS NOT NULL")


def _previous_index_function() -> str:
    path = Path(__file__).with_name("0006_search_bm25.py")
    spec = importlib.util.spec_from_file_location("search_bm25_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.INDEX_FUNCTION


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_previous_index_function())
    op.execute("DROP INDEX IF EXISTS ix_search_terms_postings")
    op.execute("DROP TRIGGER IF EXISTS search_terms_df_insert ON search_terms")
    op.execute("DROP TRIGGER IF EXISTS search_terms_df_delete ON search_terms")
    op.execute("DROP FUNCTION IF EXISTS search_count_postings()")
    op.execute("DROP FUNCTION IF EXISTS search_uncount_postings()")
    op.execute("ALTER TABLE search_vocabulary DROP COLUMN word")
    op.execute("ALTER TABLE search_vocabulary DROP COLUMN df")
