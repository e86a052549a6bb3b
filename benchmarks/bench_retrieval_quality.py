"""Retrieval quality of collections search on a small labelled set: MRR, P@1, recall@5 and
NDCG@5 for keyword, vector and hybrid side by side. Documents go through the real embedding
document builder and the Embedder port: the offline embedder by default (labelled), Voyage
when VOYAGE_API_KEY is set. Queries run through the real search functions.

    .venv/bin/python benchmarks/bench_retrieval_quality.py
    .venv/bin/python benchmarks/bench_retrieval_quality.py --offline   # images through the
        real pipeline with offline providers alone (benchmarks/offline_retrieval.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._collections_data import load  # noqa: E402
from benchmarks._support import embedded_database  # noqa: E402
from benchmarks.retrieval_metrics import summarize  # noqa: E402

# id: (category, headline, summary, objects, themes, extracted text)
ITEMS = {
    "beach1": ("travel", "Sunset over a sandy beach", "Golden sunset over a quiet sandy beach with gentle waves.",
               ["beach", "sun", "waves"], ["sunset", "sea"], ""),
    "beach2": ("travel", "Surfers riding ocean waves", "Two surfers ride large ocean waves near a rocky shore.",
               ["surfboard", "wave", "surfer"], ["ocean", "sport"], ""),
    "mount1": ("travel", "Snowy mountain peak at dawn", "A snow covered mountain peak glows pink at dawn above a valley.",
               ["mountain", "snow"], ["alpine", "dawn"], ""),
    "mount2": ("nature", "Hikers on a mountain trail", "Hikers walk a narrow trail along a green mountain ridge.",
               ["hiker", "trail", "backpack"], ["hiking", "outdoors"], ""),
    "city1": ("travel", "Night skyline of a big city", "Skyscrapers lit up at night reflected in a river.",
              ["skyscraper", "river", "lights"], ["city", "night"], ""),
    "city2": ("travel", "Busy street market in the old town", "Crowded market stalls selling spices in an old town street.",
              ["stall", "spices", "crowd"], ["market", "city"], ""),
    "food1": ("food", "Margherita pizza fresh from the oven", "A wood-fired margherita pizza with basil and mozzarella.",
              ["pizza", "basil", "cheese"], ["italian", "dinner"], ""),
    "food2": ("food", "Bowl of ramen noodles", "Steaming ramen noodle soup with egg, pork and spring onions.",
              ["noodles", "egg", "bowl"], ["japanese", "soup"], ""),
    "food3": ("food", "Chocolate birthday cake", "A chocolate layer cake with candles for a birthday party.",
              ["cake", "candles"], ["birthday", "dessert"], ""),
    "food4": ("food", "Latte art in a coffee cup", "A cappuccino with a heart drawn in the milk foam on a cafe table.",
              ["coffee", "cup"], ["cafe", "morning"], ""),
    "food5": ("food", "Fresh garden salad", "A green salad with tomatoes, cucumber and feta in a white bowl.",
              ["salad", "tomato", "bowl"], ["healthy", "lunch"], ""),
    "dog1": ("animals", "Golden retriever puppy playing fetch", "A golden retriever puppy runs with a ball on the grass.",
             ["dog", "ball", "grass"], ["pet", "play"], ""),
    "dog2": ("animals", "Dog sleeping on a sofa", "An old beagle dog sleeps curled up on a grey sofa.",
             ["dog", "sofa"], ["pet", "home"], ""),
    "cat1": ("animals", "Kitten with a ball of yarn", "A tabby kitten plays with a red ball of yarn.",
             ["kitten", "yarn"], ["pet", "play"], ""),
    "cat2": ("animals", "Cat looking out of a window", "A black cat sits on a windowsill watching birds outside.",
             ["cat", "window", "birds"], ["pet", "home"], ""),
    "bird1": ("animals", "Parrot on a branch", "A colourful parrot perches on a tropical tree branch.",
              ["parrot", "branch"], ["tropical", "wildlife"], ""),
    "horse1": ("animals", "Horses grazing in a field", "Two brown horses graze in a misty green field at morning.",
               ["horse", "field"], ["farm", "countryside"], ""),
    "doc1": ("documents", "Grocery store receipt", "A printed supermarket receipt listing milk, bread and eggs.",
             ["receipt"], ["shopping", "expenses"], "TOTAL 23.40 MILK BREAD EGGS"),
    "doc2": ("documents", "Electricity bill invoice", "An electricity invoice showing the monthly amount due.",
             ["invoice"], ["bills", "expenses"], "AMOUNT DUE 84.10 ELECTRICITY"),
    "doc3": ("documents", "Passport photo page", "The photo page of a passport with personal details.",
             ["passport"], ["travel documents", "identity"], "PASSPORT"),
    "doc4": ("documents", "Train ticket to Paris", "A printed train ticket from London to Paris.",
             ["ticket"], ["travel", "train"], "LONDON PARIS SEAT 42"),
    "doc5": ("documents", "Handwritten shopping list", "A handwritten list of groceries on a yellow note.",
             ["note", "list"], ["shopping"], "apples bananas coffee"),
    "nat1": ("nature", "Waterfall in a green forest", "A tall waterfall pours into a pool surrounded by forest.",
             ["waterfall", "trees"], ["forest", "water"], ""),
    "nat2": ("nature", "Field of sunflowers", "Rows of bright yellow sunflowers under a blue summer sky.",
             ["sunflower", "sky"], ["summer", "flowers"], ""),
    "nat3": ("nature", "Autumn leaves on the ground", "Red and orange autumn leaves cover a forest path.",
             ["leaves", "path"], ["autumn", "forest"], ""),
    "nat4": ("nature", "Cherry blossom tree", "Pink cherry blossoms on a tree branch in spring.",
             ["blossom", "branch"], ["spring", "flowers"], ""),
    "car1": ("vehicles", "Red sports car on a road", "A red sports car speeds along a coastal road.",
             ["car", "road"], ["driving", "speed"], ""),
    "car2": ("vehicles", "Vintage car at a show", "A restored vintage car displayed at a classic car show.",
             ["car", "chrome"], ["classic", "show"], ""),
    "bike1": ("vehicles", "Bicycle leaning on a wall", "A blue city bicycle leans against a brick wall.",
              ["bicycle", "wall"], ["cycling", "city"], ""),
    "train1": ("vehicles", "High speed train at a station", "A white high speed train waits at a station platform.",
               ["train", "platform"], ["rail", "travel"], ""),
    "plane1": ("vehicles", "Airplane taking off", "A passenger airplane takes off from a runway at sunset.",
               ["airplane", "runway"], ["flight", "travel"], ""),
    "boat1": ("vehicles", "Sailboat in a harbour", "White sailboats moored in a calm harbour.",
              ["sailboat", "harbour"], ["sailing", "sea"], ""),
    "ppl1": ("people", "Wedding couple dancing", "A bride and groom share their first dance at the wedding.",
             ["bride", "groom"], ["wedding", "celebration"], ""),
    "ppl2": ("people", "Family picnic in the park", "A family eats sandwiches on a blanket in a sunny park.",
             ["family", "blanket", "sandwich"], ["picnic", "summer"], ""),
    "ppl3": ("people", "Crowd at a rock concert", "A crowd cheers at an outdoor rock concert at night.",
             ["crowd", "stage"], ["music", "concert"], ""),
    "ppl4": ("people", "Graduation day", "Graduates throw their caps in the air on graduation day.",
             ["caps", "gowns"], ["graduation", "celebration"], ""),
    "home1": ("home", "Modern kitchen interior", "A bright modern kitchen with white cabinets and an island.",
              ["kitchen", "cabinets"], ["interior", "home"], ""),
    "home2": ("home", "Cozy living room with fireplace", "A living room with a sofa, rug and a burning fireplace.",
              ["sofa", "fireplace", "rug"], ["cozy", "home"], ""),
    "home3": ("home", "Houseplants on a shelf", "Green houseplants in pots on a wooden shelf.",
              ["plants", "shelf"], ["indoor garden", "home"], ""),
    "home4": ("home", "Vegetable garden beds", "Raised garden beds growing tomatoes and lettuce.",
              ["tomatoes", "lettuce", "garden"], ["gardening", "outdoors"], ""),
}

QUERIES = {
    "sunset at the beach": {"beach1"},
    "surfing": {"beach2"},
    "snowy mountains": {"mount1"},
    "hiking trail": {"mount2"},
    "city at night": {"city1"},
    "pizza": {"food1"},
    "noodle soup": {"food2"},
    "birthday cake": {"food3"},
    "coffee": {"food4", "doc5"},
    "my dog": {"dog1", "dog2"},
    "cats": {"cat1", "cat2"},
    "receipts and invoices": {"doc1", "doc2"},
    "travel documents": {"doc3", "doc4"},
    "waterfall in the forest": {"nat1"},
    "flowers": {"nat2", "nat4"},
    "sports car": {"car1"},
    "train": {"train1", "doc4"},
    "boats": {"boat1"},
    "wedding": {"ppl1"},
    "concert": {"ppl3"},
    "kitchen": {"home1"},
    "garden vegetables": {"home4"},
    "pets": {"dog1", "dog2", "cat1", "cat2"},
    "autumn": {"nat3"},
}


def analysis(entry: tuple) -> dict:
    category, headline, summary, objects, themes, text = entry
    return {"category": category, "subcategories": [], "headline": headline, "summary": summary,
            "image_details": {"extracted_text": text, "objects": objects, "themes": themes}, "media_metadata": {}}


def main() -> None:
    from sqlalchemy import text

    from chalicelib.collections.embedder import embedding_document
    from chalicelib.collections.search import keyword_ranked, reciprocal_rank_fusion, vector_ranked
    from chalicelib.db.engine import get_engine
    from chalicelib.providers import get_embedder
    from chalicelib.settings import get_settings

    engine = get_engine(embedded_database("bench_quality"))
    embedder = get_embedder(get_settings())
    user = "quality-user"
    docs = [{"item_id": item_id, "user_id": user, "analysis": analysis(entry)} for item_id, entry in ITEMS.items()]
    documents = [embedding_document(d["analysis"])[0] for d in docs]
    result = embedder.embed(documents, input_type="document")
    load(engine, docs, result.vectors, progress=False)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    query_vectors = dict(zip(QUERIES, embedder.embed(list(QUERIES), input_type="query").vectors, strict=True))
    runs: dict[str, list] = {"keyword": [], "vector": [], "hybrid": []}
    with engine.begin() as conn:
        for query, relevant in QUERIES.items():
            keyword = keyword_ranked(conn, user, query, 30)
            vector = vector_ranked(conn, user, query_vectors[query], 30)
            runs["keyword"].append(([i for i, _ in keyword], relevant))
            runs["vector"].append(([i for i, _ in vector], relevant))
            runs["hybrid"].append(([i for i, _ in reciprocal_rank_fusion(keyword, vector)], relevant))
    print(f"{len(ITEMS)} labelled items, {len(QUERIES)} queries, embedder: {result.provider_used} ({result.model})")
    print(f"{'mode':10}{'MRR':>8}{'P@1':>8}{'recall@5':>10}{'NDCG@5':>9}")
    for mode, mode_runs in runs.items():
        m = summarize(mode_runs)
        print(f"{mode:10}{m['MRR']:>8.3f}{m['P@1']:>8.3f}{m['recall@5']:>10.3f}{m['NDCG@5']:>9.3f}")


if __name__ == "__main__":
    if "--offline" in sys.argv[1:]:
        from benchmarks.offline_retrieval import run

        run()
    else:
        main()
