"""Plain-word vocabulary the offline vision analyzer uses to name what it read.

Each category lists subcategories, and each subcategory the words (lower case; whole words, with a
plural or verb ending from four letters up; phrases anywhere in a line) that point to it in OCR text. ``RELATED``
adds the everyday words a person would search with for a subcategory ("groceries" ->
"supermarket"), since they rarely appear on the screen itself. Rules: a word counts once per
line; receipt markers (totals, tax, payment) weigh double, since any receipt also lists goods.
"""

from __future__ import annotations

LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    "receipt": {
        "receipt": ("receipt", "subtotal", "total", "tax", "vat", "change", "cashier", "thank you for shopping",
                    "paid", "visa", "mastercard", "amex", "card", "amount due", "balance due", "invoice",
                    "total due", "qty", "fee"),
    },
    "food": {
        "japanese food": ("ramen", "sushi", "miso", "tonkotsu", "shoyu", "gyoza", "edamame", "udon", "matcha",
                          "tempura", "teriyaki", "bento"),
        "restaurant": ("menu", "restaurant", "dinner", "lunch", "table for", "reservation", "chef", "dessert",
                       "appetizer", "sides", "thai", "pizza", "burger", "pasta", "bistro", "cafe"),
        "groceries": ("milk", "bread", "eggs", "bananas", "cheese", "butter", "apples", "yogurt", "grocery",
                      "produce", "sourdough", "freshmart", "market"),
        "recipe": ("recipe", "ingredients", "tbsp", "tsp", "cups", "flour", "sugar", "whisk", "bake", "oven",
                   "prep", "cook", "pancakes", "buttermilk"),
        "coffee": ("coffee", "latte", "espresso", "cappuccino", "flat white", "barista", "beans"),
    },
    "travel": {
        "flight": ("flight", "boarding", "gate", "seat", "airline", "departure", "arrival", "terminal",
                   "passenger", "economy", "airport", "heathrow", "narita", "delayed"),
        "hotel": ("hotel", "check-in", "check-out", "nights", "room", "booking", "guests", "adults",
                  "cancellation", "balcony"),
        "train": ("train", "tgv", "coach", "platform", "rail", "station", "e-ticket", "2nd class", "1st class"),
        "directions": ("directions", "head north", "turn right", "turn left", "destination", "via", "arrive",
                       "route", "km", "miles"),
    },
    "shopping": {
        "online order": ("order", "shipped", "tracking", "delivery", "arriving", "cart", "checkout", "size",
                         "color", "order total", "returns"),
        "clothing": ("shoes", "sneakers", "running shoes", "shirt", "jacket", "dress", "nike", "adidas", "jeans"),
        "rewards": ("rewards", "stamps", "loyalty", "points", "free drink", "member"),
    },
    "finance": {
        "banking": ("transfer", "checking", "savings", "balance", "transaction", "sent to", "account",
                    "deposit", "payment", "iban"),
        "bills": ("statement", "billing period", "amount due", "due date", "kwh", "electricity", "energy",
                  "utility", "usage", "rent"),
    },
    "health": {
        "medical": ("dentist", "dental", "doctor", "dr.", "clinic", "appointment", "check-up", "cleaning",
                    "patient", "hospital"),
        "pharmacy": ("pharmacy", "rx", "capsules", "tablets", "mg", "refills", "dose", "prescription",
                     "take 1", "daily", "amoxicillin"),
    },
    "pets": {
        "vet": ("vet", "veterinary", "vaccination", "rabies", "canine", "feline", "flea", "nail trim", "puppy",
                "kitten", "dog", "cat"),
    },
    "fitness": {
        "running": ("run", "pace", "km", "heart rate", "bpm", "calories", "kcal", "steps", "workout",
                    "distance", "miles"),
    },
    "music": {
        "playlist": ("playlist", "songs", "shuffle", "album", "artist", "mix", "play", "tracks"),
    },
    "entertainment": {
        "concert": ("concert", "live at", "doors", "tour", "arena", "garden", "general admission"),
        "movie": ("cinema", "imax", "screen", "film", "movie", "popcorn", "showtime"),
        "tickets": ("ticket", "tickets", "row", "section", "seat", "seats", "scan", "entrance", "booking ref"),
    },
    "work": {
        "email": ("inbox", "from:", "to:", "subject", "meeting", "reply", "cc"),
        "meeting": ("meeting", "planning", "review", "roadmap", "slides", "quarterly", "agenda", "team"),
    },
    "messages": {
        "chat": ("read", "delivered", "typing", "see you", "tonight", "lol", "yes!", "ok"),
    },
    "weather": {
        "forecast": ("weather", "rain", "showers", "sunny", "cloudy", "thunderstorms", "humidity", "wind",
                     "high", "low", "°c", "°f", "forecast"),
    },
    "tech": {
        "code": ("traceback", "error", "exception", "keyerror", "python", "$ ", "export", "stack trace",
                 "import", "undefined", "npm", "git", ".py", ".js", "localhost"),
    },
    "home": {
        "wifi": ("wifi", "wi-fi", "password", "network", "router", "ssid"),
        "lease": ("lease", "landlord", "tenant", "premises", "monthly rent", "agreement", "apt"),
    },
    "calendar": {
        "event": ("calendar", "reminder", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                  "sunday", "all day"),
    },
    "social": {
        "social media": ("followers", "following", "retweet", "repost", "likes", "comments", "posted", "story",
                         "reels", "hashtag", "mentions", "profile", "tweet"),
    },
    "news": {
        "article": ("breaking", "headline", "reporter", "published", "updated", "opinion", "subscribe",
                    "min read", "editorial"),
    },
    "sports": {
        "match": ("league", "innings", "halftime", "final score", "fixtures", "standings", "kickoff",
                  "touchdown", "championship"),
    },
    "education": {
        "course": ("course", "lesson", "quiz", "homework", "assignment", "lecture", "semester", "grade",
                   "syllabus", "exam", "student"),
    },
    "jobs": {
        "job search": ("apply", "salary", "hiring", "job", "resume", "interview", "position", "full-time",
                       "part-time", "remote", "recruiter"),
    },
    "games": {
        "game": ("high score", "game over", "leaderboard", "achievement unlocked", "quest", "next level"),
    },
    "phone": {
        "settings": ("settings", "bluetooth", "battery", "notifications", "airplane mode", "storage",
                     "privacy", "display", "brightness", "software update"),
    },
    "food delivery": {
        "delivery order": ("uber eats", "doordash", "deliveroo", "grubhub", "courier", "estimated arrival",
                           "your food", "driver"),
    },
    "celebration": {
        "birthday": ("birthday", "happy birthday", "party", "anniversary", "congratulations"),
    },
}

#: Words people search with for a subcategory, added to the analysis's themes.
RELATED: dict[str, tuple[str, ...]] = {
    "receipt": ("receipt", "purchase", "spending", "expenses"),
    "japanese food": ("japanese", "noodles", "asian food"),
    "restaurant": ("restaurant", "menu", "eating out"),
    "groceries": ("groceries", "supermarket", "grocery store"),
    "recipe": ("recipe", "cooking", "baking"),
    "coffee": ("coffee", "cafe"),
    "flight": ("flight", "airline", "plane", "trip"),
    "hotel": ("hotel", "reservation", "accommodation", "trip"),
    "train": ("train", "rail", "trip"),
    "directions": ("map", "navigation", "route"),
    "online order": ("online shopping", "purchase", "delivery"),
    "clothing": ("clothes", "shoes"),
    "rewards": ("loyalty card", "rewards"),
    "banking": ("bank", "money", "payment"),
    "bills": ("bill", "utilities", "payment"),
    "medical": ("health", "doctor", "appointment"),
    "pharmacy": ("medicine", "prescription", "medication"),
    "vet": ("pet", "animal", "veterinarian"),
    "running": ("exercise", "workout", "running"),
    "playlist": ("music", "songs"),
    "concert": ("concert", "live music", "event"),
    "movie": ("movie", "cinema", "film"),
    "tickets": ("tickets", "event"),
    "email": ("email", "message"),
    "meeting": ("meeting", "work"),
    "chat": ("conversation", "text message", "chat"),
    "forecast": ("weather", "forecast"),
    "code": ("programming", "error", "terminal"),
    "wifi": ("wifi", "internet", "password"),
    "lease": ("rental", "contract", "housing"),
    "event": ("schedule", "appointment"),
    "birthday": ("birthday", "celebration", "party"),
    "social media": ("social media", "post"),
    "article": ("news", "article"),
    "match": ("sports", "game", "score"),
    "course": ("school", "class", "study"),
    "job search": ("job", "career", "work"),
    "game": ("video game", "gaming"),
    "settings": ("phone settings", "device"),
    "delivery order": ("food delivery", "takeout", "food"),
}

#: Apps and sites named on screen: the analysis's ``platform`` (and a theme, so it is searchable).
PLATFORMS: tuple[str, ...] = (
    "Instagram", "WhatsApp", "Messenger", "Facebook", "Twitter", "TikTok", "LinkedIn", "Reddit",
    "YouTube", "Netflix", "Spotify", "Slack", "Gmail", "Outlook", "Google Maps", "Apple Maps", "Amazon",
    "eBay", "Uber", "Lyft", "Airbnb", "Booking.com", "Expedia", "PayPal", "Venmo", "Zoom", "Teams",
    "Discord", "Telegram", "Snapchat", "Pinterest", "GitHub", "Strava", "Duolingo",
)

#: Receipt markers weigh double: a receipt also lists the goods it was for.
WEIGHT = {"receipt": 2.0}
