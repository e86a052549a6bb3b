"""Each product's migrations form one labelled, linear branch off the base revision."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from chalicelib.db.migrate import alembic_config

BRANCHES = {"tasks", "pages", "collections"}


def test_each_product_is_one_labelled_linear_branch() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = {rev.revision: rev for rev in scripts.walk_revisions()}
    base = [rev for rev in revisions.values() if rev.down_revision is None]
    assert [rev.revision for rev in base] == ["0001"]
    roots = {rev.revision: next(iter(rev.branch_labels)) for rev in revisions.values()
             if rev.down_revision == "0001"}
    assert set(roots.values()) == BRANCHES, "every revision on the base starts a labelled product branch"
    for root, label in roots.items():
        chain, current = [], revisions[root]
        while True:
            chain.append(current.revision)
            children = [revisions[r] for r in current.nextrev]
            assert len(children) <= 1, f"branch {label} forks after {current.revision}: {current.nextrev}"
            if not children:
                break
            current = children[0]
            assert current.branch_labels == {label}, f"{current.revision} is not on branch {label} alone"
        assert scripts.get_revision(f"{label}@head").revision == chain[-1]
    labelled = sum(1 for _ in revisions) - 1
    assert labelled == sum(len(list(scripts.iterate_revisions(f"{label}@head", "base"))) - 1 for label in BRANCHES)
