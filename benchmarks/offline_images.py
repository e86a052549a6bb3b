"""A labelled image set for the offline providers, drawn with Pillow at run time (nothing binary
is committed): phone and desktop screenshots with rendered text (varied fonts, sizes, light and
dark themes, status bars, app chrome, JPEG noise), photographed documents, flat illustrations,
and synthetic photos carrying EXIF (date, camera, GPS).

``SCENES`` holds what each image shows; ``QUERIES`` what people would type to find it, written
as searches (paraphrases, partial memories, a few with no answer), never the rendered lines.
Every image is deterministic: the same id always gives the same bytes.
"""

from __future__ import annotations

import io
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
SANS, BOLD, SERIF, MONO, CONDENSED = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
                                      "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf")


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / name), size)


@dataclass(frozen=True)
class Scene:
    id: str
    kind: str  # screenshot, document, illustration, photo
    title: str = ""
    lines: tuple[str, ...] = ()
    style: dict = field(default_factory=dict)


def _screen(scene: Scene, rng: random.Random) -> Image.Image:
    """A phone (default) or desktop screenshot: status bar, app bar, body lines, bottom chrome."""
    s = scene.style
    desktop = s.get("desktop", False)
    size = (1600, 1000) if desktop else s.get("size", (1080, 2340))
    dark = s.get("dark", False)
    bg, fg, muted = ((18, 18, 22), (235, 235, 240), (150, 150, 160)) if dark else \
        ((255, 255, 255), (25, 25, 30), (110, 110, 120))
    accent = s.get("accent", (30, 110, 220))
    im = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(im)
    w, h = size
    scale = w / 1080 if not desktop else 0.8
    body_font, title_font = s.get("font", SANS), s.get("title_font", BOLD)
    body_size = int(s.get("body", 40) * scale)
    y = 0
    if desktop:  # window chrome: title bar with three dots and an address bar
        d.rectangle((0, 0, w, 70), fill=(225, 225, 230) if not dark else (40, 40, 46))
        for i, colour in enumerate(((237, 95, 87), (246, 190, 79), (98, 197, 84))):
            d.ellipse((20 + i * 34, 24, 42 + i * 34, 46), fill=colour)
        d.rounded_rectangle((160, 16, w - 160, 56), 10, fill=bg)
        d.text((180, 24), s.get("url", "https://example.com"), font=font(SANS, 22), fill=muted)
        y = 90
    else:  # phone status bar: time, signal bars, battery
        d.text((int(60 * scale), int(30 * scale)), s.get("clock", "9:41"), font=font(BOLD, int(42 * scale)), fill=fg)
        for i in range(4):
            x = w - int(260 * scale) + i * int(18 * scale)
            d.rectangle((x, int(70 * scale) - i * int(10 * scale), x + int(10 * scale), int(70 * scale)), fill=fg)
        d.rounded_rectangle((w - int(160 * scale), int(36 * scale), w - int(70 * scale), int(72 * scale)), 8,
                            outline=fg, width=3)
        d.rectangle((w - int(154 * scale), int(42 * scale), w - int(100 * scale), int(66 * scale)), fill=fg)
        y = int(120 * scale)
    bar = int(130 * scale)
    d.rectangle((0, y, w, y + bar), fill=accent)
    d.text((int(50 * scale), y + bar // 2), scene.title, font=font(title_font, int(52 * scale)),
           fill=(255, 255, 255), anchor="lm")
    y += bar + int(50 * scale)
    margin = int(60 * scale)
    for line in scene.lines:
        if line == "---":
            d.line((margin, y, w - margin, y), fill=muted, width=2)
            y += int(30 * scale)
            continue
        size_here = body_size
        face = body_font
        colour = fg
        if line.startswith("# "):
            line, face, size_here = line[2:], title_font, int(body_size * 1.3)
        elif line.startswith("~ "):
            line, colour, size_here = line[2:], muted, int(body_size * 0.8)
        if s.get("cards") and not line.startswith(" "):
            d.rounded_rectangle((margin - 20, y - 14, w - margin + 20, y + size_here + 20), 18,
                                fill=(32, 32, 38) if dark else (242, 243, 247))
        d.text((margin, y), line, font=font(face, size_here), fill=colour)
        y += int(size_here * 1.9)
        if y > h - 260 * scale:
            break
    if not desktop:  # bottom navigation with icon blobs and the home indicator
        d.rectangle((0, h - int(200 * scale), w, h), fill=(28, 28, 34) if dark else (248, 248, 250))
        for i in range(4):
            cx = int((i + 0.5) * w / 4)
            d.ellipse((cx - 24, h - int(160 * scale), cx + 24, h - int(112 * scale)), fill=muted)
        d.rounded_rectangle((w // 2 - 140, h - 40, w // 2 + 140, h - 28), 6, fill=fg)
    return im


def _document(scene: Scene, rng: random.Random) -> Image.Image:
    """A paper document photographed on a table: slightly rotated, shaded, monospace print."""
    s = scene.style
    w, h = s.get("size", (1600, 2000))
    table = s.get("table", (92, 64, 44))
    im = Image.new("RGB", (w, h), table)
    paper_w, paper_h = int(w * 0.62), int(h * 0.82)
    paper = Image.new("RGB", (paper_w, paper_h), s.get("paper", (250, 248, 240)))
    d = ImageDraw.Draw(paper)
    face = s.get("font", MONO)
    size = s.get("body", 34)
    y = 60
    if scene.title:
        d.text((paper_w // 2, y), scene.title, font=font(BOLD, int(size * 1.3)), fill=(20, 20, 20), anchor="mt")
        y += int(size * 2.6)
    for line in scene.lines:
        d.text((50, y), line, font=font(face, size), fill=(30, 30, 30))
        y += int(size * 1.6)
    paper = paper.rotate(s.get("angle", 2.0), expand=True, fillcolor=table, resample=Image.Resampling.BICUBIC)
    im.paste(paper, ((w - paper.width) // 2, (h - paper.height) // 2))
    return _grain(im, rng, 10)


def _illustration(scene: Scene, rng: random.Random) -> Image.Image:
    """Flat shapes in a few colours, optionally a caption (a poster or a clip-art drawing)."""
    s = scene.style
    w, h = s.get("size", (1400, 1400))
    palette = s.get("palette", [(250, 214, 90), (240, 120, 70), (70, 140, 200), (40, 40, 60)])
    im = Image.new("RGB", (w, h), palette[0])
    d = ImageDraw.Draw(im)
    for _ in range(9):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(60, 260)
        shape = d.ellipse if rng.random() < 0.5 else d.rectangle
        shape((x - r, y - r, x + r, y + r), fill=palette[rng.randint(1, len(palette) - 1)])
    if scene.title:
        d.rectangle((0, h - 260, w, h), fill=palette[-1])
        d.text((w // 2, h - 130), scene.title, font=font(s.get("font", BOLD), 88), fill=palette[0], anchor="mm")
    return im


def _photo(scene: Scene, rng: random.Random) -> Image.Image:
    """A natural-looking scene: graded sky, horizon, textured ground, blobs, blur and grain."""
    s = scene.style
    w, h = s.get("size", (2000, 1500))
    top, horizon_colour, ground = s["sky"], s["horizon"], s["ground"]
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    line = int(h * s.get("horizon_at", 0.55))
    for y in range(line):
        t = y / max(line - 1, 1)
        d.line((0, y, w, y), fill=tuple(int(a + (b - a) * t) for a, b in zip(top, horizon_colour, strict=True)))
    for y in range(line, h):
        t = (y - line) / max(h - line, 1)
        d.line((0, y, w, y), fill=tuple(int(c * (0.85 + 0.3 * t)) for c in ground))
    for _ in range(s.get("blobs", 40)):
        x, y, r = rng.randint(0, w), rng.randint(line - 80, h), rng.randint(10, 120)
        c = tuple(max(0, min(255, v + rng.randint(-40, 40))) for v in s.get("blob", ground))
        d.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=c)
    if "sun" in s:
        x, y = s["sun"]
        d.ellipse((x - 90, y - 90, x + 90, y + 90), fill=(255, 236, 180))
    im = im.filter(ImageFilter.GaussianBlur(3))
    return _grain(im, rng, 14)


def _grain(im: Image.Image, rng: random.Random, amount: int) -> Image.Image:
    noise = Image.effect_noise(im.size, amount * 4).convert("RGB")
    return Image.blend(im, noise, min(0.25, amount / 100))


RENDERERS: dict[str, Callable[[Scene, random.Random], Image.Image]] = {
    "screenshot": _screen, "document": _document, "illustration": _illustration, "photo": _photo,
}


def _exif(meta: dict) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = meta["make"], meta["model"]
    taken = meta["taken"].strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = taken
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = taken
    if "gps" in meta:
        lat, lon = meta["gps"]
        gps = exif.get_ifd(0x8825)

        def dms(value: float) -> tuple:
            value = abs(value)
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
            return (degrees, minutes, seconds)

        gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    return exif.tobytes()


def render(scene: Scene) -> tuple[bytes, str, str]:
    """``(bytes, filename, content_type)`` of the scene, the same every time."""
    rng = random.Random(scene.id)
    im = RENDERERS[scene.kind](scene, rng)
    buffer = io.BytesIO()
    lossless = scene.kind == "illustration" or (scene.kind == "screenshot" and zlib.crc32(scene.id.encode()) % 3)
    fmt = scene.style.get("format", "PNG" if lossless else "JPEG")  # a third of the screenshots: JPEG
    if fmt == "JPEG":
        params = {"quality": scene.style.get("quality", 80 if scene.kind == "screenshot" else 88)}
        if "exif" in scene.style:
            params["exif"] = _exif(scene.style["exif"])
        im.save(buffer, "JPEG", **params)
        return buffer.getvalue(), f"{scene.id}.jpg", "image/jpeg"
    im.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue(), f"{scene.id}.png", "image/png"


SCENES: list[Scene] = [
    Scene("ramen_menu", "screenshot", "Menya Kotori", (
        "# Ramen", "Tonkotsu Ramen  $14.50", "~ pork broth, chashu, soft egg", "Spicy Miso Ramen  $15.00",
        "Shoyu Ramen  $13.00", "---", "# Sides", "Gyoza (6 pcs)  $7.00", "Edamame  $5.00",
        "Matcha Ice Cream  $6.00"), {"accent": (190, 40, 40), "cards": True}),
    Scene("grocery_receipt", "document", "FRESHMART", (
        "Store #0412  Oak Street", "03/14/2025  18:42", "", "WHOLE MILK 1L      2.49", "SOURDOUGH BREAD    4.99",
        "FREE RANGE EGGS    5.29", "BANANAS 1.2KG      1.79", "CHEDDAR CHEESE     6.49", "",
        "SUBTOTAL          21.05", "TAX                1.42", "TOTAL             22.47", "VISA ****4821",
        "THANK YOU FOR SHOPPING"), {}),
    Scene("boarding_pass", "screenshot", "Boarding Pass", (
        "# LHR  >  JFK", "London Heathrow to New York", "Flight BA 117", "Date 12 Aug 2025", "Boarding 10:35",
        "Gate B42   Seat 23A", "Passenger MORGAN/ALEX", "Group 3  Economy"), {"accent": (20, 40, 110)}),
    Scene("hotel_booking", "screenshot", "Booking confirmed", (
        "# Hotel Alameda Lisbon", "Check-in Fri 3 Oct 2025", "Check-out Mon 6 Oct 2025", "3 nights, 2 adults",
        "Double room with balcony", "Total price EUR 486.00", "Free cancellation until 1 Oct",
        "Confirmation 4471-2290"), {"accent": (0, 53, 128), "cards": True}),
    Scene("chat_dinner", "screenshot", "Sam", (
        "Are we still on for dinner tonight?", "  yes! 7:30 at the thai place", "Should I book a table?",
        "  already did, table for four", "Great, see you there", "~ Read 18:02"), {"accent": (7, 94, 84), "dark": True}),
    Scene("weather_app", "screenshot", "Weather", (
        "# Seattle", "Rain showers  12°C", "High 14° Low 8°", "---", "Tomorrow  Cloudy  13°",
        "Thursday  Sunny  17°", "Friday  Thunderstorms  11°", "Wind 18 km/h  Humidity 87%"),
     {"accent": (60, 90, 140), "font": CONDENSED}),
    Scene("bank_transfer", "screenshot", "Transfer complete", (
        "# $1,250.00", "sent to Jordan Lee", "From Checking ****0917", "Reference: March rent",
        "Date Mar 1, 2025", "Transaction ID 88310-KQ", "Available balance $3,402.18"), {"accent": (0, 120, 80)}),
    Scene("recipe_pancakes", "screenshot", "Recipes", (
        "# Fluffy Buttermilk Pancakes", "Prep 10 min  Cook 15 min", "Ingredients", "2 cups flour",
        "2 tbsp sugar", "1 1/2 cups buttermilk", "2 eggs", "3 tbsp melted butter",
        "Whisk dry ingredients, then fold in wet"), {"accent": (214, 120, 30), "font": SERIF}),
    Scene("train_ticket", "screenshot", "Your e-ticket", (
        "# Paris Gare de Lyon", "to Marseille St Charles", "TGV INOUI 6173", "Sat 21 Jun 2025  08:07",
        "Coach 14  Seat 62", "2nd class  Adult", "Show this QR code on board"), {"accent": (150, 20, 80)}),
    Scene("order_shipped", "screenshot", "Orders", (
        "# Your order has shipped", "Nike Pegasus 41 running shoes", "Size 10  Color black",
        "Arriving Thursday", "Tracking 1Z 999 AA1 0123 4567", "Order total $139.99"),
     {"accent": (20, 20, 20), "cards": True}),
    Scene("dentist_appointment", "screenshot", "Calendar", (
        "# Tuesday, May 20", "Dentist appointment", "Dr. Patel Family Dental", "10:30 - 11:15",
        "Cleaning and check-up", "Reminder 1 day before"), {"accent": (90, 60, 180), "dark": True}),
    Scene("vet_invoice", "document", "RIVERSIDE VET CLINIC", (
        "Patient: BISCUIT (canine)", "Owner: A. Morgan", "", "Annual vaccination   45.00",
        "Rabies booster       30.00", "Flea treatment       22.50", "Nail trim            12.00", "",
        "TOTAL DUE          109.50"), {"font": SANS, "table": (60, 60, 70)}),
    Scene("fitness_run", "screenshot", "Activity", (
        "# Morning Run", "5.21 km", "Time 27:43", "Avg pace 5:19 /km", "Calories 412 kcal",
        "Avg heart rate 151 bpm", "Steps today 11,208"), {"accent": (230, 60, 40), "dark": True, "cards": True}),
    Scene("playlist", "screenshot", "Library", (
        "# Road Trip Mix", "32 songs, 2 hr 4 min", "Mr. Brightside - The Killers", "Dreams - Fleetwood Mac",
        "Africa - Toto", "Take On Me - a-ha", "Shuffle play"), {"accent": (30, 185, 84), "dark": True}),
    Scene("work_email", "screenshot", "Inbox", (
        "# Q3 planning meeting moved", "From: Priya Nair", "To: product team",
        "The quarterly planning review is now", "on Wednesday at 2pm in room Everest.",
        "Please bring your roadmap slides."), {"desktop": True, "url": "mail.example.com/inbox"}),
    Scene("wifi_note", "screenshot", "Notes", (
        "# Guest WiFi", "Network: LakeHouse_5G", "Password: blue-heron-2291", "Router in hallway closet"),
     {"accent": (240, 190, 40), "font": MONO}),
    Scene("concert_ticket", "screenshot", "Tickets", (
        "# Arctic Monkeys", "Live at Madison Square Garden", "Fri 14 Nov 2025  Doors 7:00 PM",
        "Section 112  Row K  Seat 9", "General admission", "Scan at the entrance"), {"accent": (120, 20, 160)}),
    Scene("parking_receipt", "document", "CITY PARKING", (
        "Garage: Pine St Level 2", "Entry  08:12", "Exit   17:46", "Duration 9h 34m", "Fee  USD 24.00",
        "Paid by card", "Plate 7XKD219"), {"font": MONO, "paper": (235, 240, 250), "angle": -3.0}),
    Scene("map_directions", "screenshot", "Directions", (
        "# 18 min (6.4 km)", "via Market Street", "Head north on 3rd Ave", "Turn right onto Market St",
        "Destination: Golden Gate Park", "Arrive 4:52 PM"), {"accent": (26, 115, 232)}),
    Scene("python_error", "screenshot", "Terminal", (
        "$ python manage.py migrate", "Traceback (most recent call last):",
        '  File "app/models.py", line 42', "KeyError: 'DATABASE_URL'", "$ export DATABASE_URL=postgres://"),
     {"desktop": True, "dark": True, "font": MONO, "url": "terminal"}),
    Scene("electric_bill", "document", "NORTHWIND ENERGY", (
        "Electricity statement", "Billing period Jan 1 - Jan 31", "Usage 642 kWh", "Energy charge   88.12",
        "Delivery charge  21.40", "Amount due      109.52", "Due date Feb 20"), {"font": SERIF, "angle": 1.5}),
    Scene("cinema_tickets", "screenshot", "Cinema", (
        "# Dune: Part Two", "IMAX  Screen 5", "Sat 8 Mar  19:45", "2 tickets  Row F  Seats 11-12",
        "Popcorn combo added", "Booking ref CX72PL"), {"accent": (200, 160, 20), "dark": True}),
    Scene("prescription", "document", "GREEN CROSS PHARMACY", (
        "Rx 5521907", "Amoxicillin 500 mg capsules", "Take 1 capsule 3 times daily", "for 7 days with food",
        "Qty 21   Refills 0", "Dr. L. Okafor"), {"font": SANS, "table": (180, 180, 175)}),
    Scene("coffee_loyalty", "screenshot", "Rewards", (
        "# Bean There Coffee", "7 of 10 stamps", "3 more drinks for a free latte", "Flat white  $4.20",
        "Last visit yesterday"), {"accent": (111, 78, 55), "cards": True}),
    Scene("flight_delay", "screenshot", "Flight status", (
        "# UA 902 delayed", "San Francisco to Tokyo Narita", "New departure 1:55 PM",
        "Originally 11:20 AM", "Gate G98", "We apologize for the inconvenience"), {"accent": (0, 51, 160), "dark": True}),
    Scene("lease_contract", "document", "RESIDENTIAL LEASE AGREEMENT", (
        "This lease is made between", "Harbor Property Group (Landlord)", "and Alex Morgan (Tenant)",
        "Premises: 22 Elm Road, Apt 4B", "Monthly rent: $1,250", "Term: 12 months from April 1"),
     {"font": SERIF, "angle": -1.0}),
    Scene("birthday_poster", "illustration", "Happy Birthday Mia", (), {}),
    Scene("abstract_art", "illustration", "", (),
          {"palette": [(20, 30, 60), (230, 70, 110), (90, 200, 190), (250, 250, 250)]}),
    Scene("beach_photo", "photo", style={
        "sky": (70, 140, 220), "horizon": (170, 210, 240), "ground": (226, 205, 160), "blob": (40, 120, 190),
        "horizon_at": 0.5, "exif": {"make": "Apple", "model": "iPhone 15 Pro", "taken": datetime(2025, 7, 19, 16, 5),
                                   "gps": (38.7223, -9.1393)}}),
    Scene("forest_photo", "photo", style={
        "sky": (150, 190, 210), "horizon": (200, 215, 200), "ground": (40, 95, 45), "blob": (30, 80, 35),
        "horizon_at": 0.3, "blobs": 90, "exif": {"make": "Google", "model": "Pixel 8", "taken": datetime(2024, 10, 5, 11, 30),
                                                 "gps": (47.6062, -122.3321)}}),
    Scene("sunset_photo", "photo", style={
        "sky": (60, 40, 110), "horizon": (250, 140, 60), "ground": (40, 30, 40), "sun": (1000, 760),
        "horizon_at": 0.6, "exif": {"make": "Canon", "model": "Canon EOS R6", "taken": datetime(2025, 8, 30, 20, 12)}}),
    Scene("snow_photo", "photo", style={
        "sky": (120, 160, 210), "horizon": (220, 230, 245), "ground": (238, 240, 246), "blob": (200, 210, 225),
        "horizon_at": 0.45, "exif": {"make": "SONY", "model": "ILCE-7M4", "taken": datetime(2025, 1, 11, 9, 48),
                                     "gps": (46.0207, 7.7491)}}),
]

#: query -> ids of the relevant images (an empty set: nothing in the set answers it).
QUERIES: dict[str, set[str]] = {
    "ramen": {"ramen_menu"},
    "japanese noodle restaurant menu": {"ramen_menu"},
    "grocery receipt": {"grocery_receipt"},
    "how much did I spend at the supermarket": {"grocery_receipt"},
    "flight to new york": {"boarding_pass"},
    "boarding pass": {"boarding_pass", "flight_delay"},
    "hotel reservation lisbon": {"hotel_booking"},
    "dinner plans with sam": {"chat_dinner"},
    "weather forecast": {"weather_app"},
    "rent payment": {"bank_transfer", "lease_contract"},
    "pancake recipe": {"recipe_pancakes"},
    "train to marseille": {"train_ticket"},
    "running shoes order": {"order_shipped"},
    "dentist": {"dentist_appointment"},
    "vet bill for the dog": {"vet_invoice"},
    "my run": {"fitness_run"},
    "road trip songs": {"playlist"},
    "meeting moved": {"work_email"},
    "wifi password": {"wifi_note"},
    "concert tickets": {"concert_ticket"},
    "parking": {"parking_receipt"},
    "directions to the park": {"map_directions"},
    "python error": {"python_error"},
    "electricity bill": {"electric_bill"},
    "movie tickets": {"cinema_tickets"},
    "antibiotics prescription": {"prescription"},
    "coffee rewards card": {"coffee_loyalty"},
    "delayed flight": {"flight_delay"},
    "lease agreement": {"lease_contract"},
    "birthday": {"birthday_poster"},
    "receipts": {"grocery_receipt", "parking_receipt", "vet_invoice"},
    "photos from my iphone": {"beach_photo"},
    "pictures taken in july": {"beach_photo"},
    "photos from january": {"snow_photo"},
    "green photo": {"forest_photo"},
    "sunset": {"sunset_photo"},
    "photos taken with the pixel": {"forest_photo"},
    "pictures from my sony camera": {"snow_photo"},
    # no answer in the set
    "passport scan": set(),
    "wedding invitation": set(),
    "car insurance card": set(),
}
