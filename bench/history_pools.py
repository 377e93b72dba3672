"""The pools a generated history draws from (bench/history.py): names, email domains, postal codes, streets and
a catalog, of different sizes, and the customers and addresses made from them, each made once when first drawn."""

import math
import random

FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret "
    "Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
    "George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob "
    "Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin Nicole Scott "
    "Anna Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank "
    "Janet Raymond Maria Jack Olivia Dennis Heather Jerry Helen Tyler Catherine Aaron Diane José Julie Adam Victoria "
    "Nathan Joyce Henry Lauren Zoë Kelly Renée Christina Noël Ruth Björn Joan Søren Virginia François Judith Chloé"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson "
    "Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris "
    "Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders "
    "Patel Myers Long Ross Foster Jimenez Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Dubois Lefèvre "
    "Moreau Laurent Simon Michel Garnier O'Brien O'Connor McDonald MacLeod Østergaard Nielsen Jensen Hansen Larsen"
).split()
STREETS = (
    "Oak Maple Pine Cedar Elm Washington Lake Hill Park Main Church High Station Victoria Mill School Green King "
    "Queen New Bridge London Manor Springfield Sunset River Forest Meadow Highland Lincoln Jefferson Madison Franklin "
    "Chestnut Walnut Willow Birch Spruce Aspen Sycamore Magnolia Dogwood Hickory Laurel Poplar Cherry Juniper Holly"
).split()
SUFFIXES = ("St", "Street", "Ave", "Avenue", "Rd", "Road", "Lane", "Way", "Drive", "Court")
DOMAINS = (
    ("gmail.com", 40), ("yahoo.com", 12), ("outlook.com", 10), ("hotmail.com", 8), ("icloud.com", 8), ("aol.com", 3),
    ("proton.me", 3), ("gmx.de", 3), ("orange.fr", 2), ("btinternet.com", 2), ("web.de", 2), ("comcast.net", 2),
    ("acme-corp.com", 1), ("mailinator.com", 1), ("yopmail.com", 1), ("guerrillamail.com", 1),
)  # fmt: skip
DISPOSABLE = frozenset({"mailinator.com", "yopmail.com", "guerrillamail.com"})
# Country, its share of the postal codes, and how a code is written there.
COUNTRIES = (("US", 0.62), ("GB", 0.1), ("CA", 0.08), ("DE", 0.07), ("FR", 0.07), ("NL", 0.03), ("BR", 0.02), ("NG", 0.01))
CITIES = ("Springfield", "Riverside", "Fairview", "Georgetown", "Salem", "Madison", "Clinton", "Franklin", "Greenville", "Bristol")
POSTAL_CODES = 4000
CATALOG_SIZE = 400
ALPHA = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _postal(rng: random.Random, country: str) -> str:
    letter, digit = lambda: rng.choice(ALPHA), lambda: str(rng.randrange(10))  # noqa: E731
    if country == "GB":
        return f"{letter()}{letter()}{digit()} {digit()}{letter()}{letter()}"
    if country == "CA":
        return f"{letter()}{digit()}{letter()} {digit()}{letter()}{digit()}"
    if country == "NL":
        return f"{rng.randint(1000, 9999)} {letter()}{letter()}"
    if country == "BR":
        return f"{rng.randint(10000, 99999)}-{rng.randint(100, 999)}"
    if country == "NG":
        return f"{rng.randint(100000, 999999)}"
    return f"{rng.randint(1000, 99999):05d}"


def customer_email(rng: random.Random, name: str, number: int) -> str:
    first, _, last = name.partition(" ")
    first, last = first.lower(), last.lower().replace("'", "")
    domain = rng.choices([d for d, _ in DOMAINS], weights=[w for _, w in DOMAINS])[0]
    pattern = rng.random()
    if pattern < 0.5:
        return f"{first}.{last}{number}@{domain}"
    if pattern < 0.8:
        return f"{first[0]}{last}{number}@{domain}"
    return f"{first}_{number}@{domain}"


def reviewer_names() -> list[str]:
    return [f"reviewer{i}" for i in range(1, 13)]


class Pools:
    def __init__(self, rng: random.Random, *, customers: int, addresses: int):
        self.rng = rng
        self.addresses = max(10, addresses)
        self.postal = [(country, rng.choice(CITIES), _postal(rng, country)) for country in self._countries(POSTAL_CODES)]
        self.prices = [max(99, int(math.exp(rng.gauss(3.3, 0.9)) * 100)) for _ in range(CATALOG_SIZE)]
        self.disposable_domains = DISPOSABLE
        self._customers: dict[int, tuple] = {}
        self._addresses: dict[int, dict] = {}
        self._drops: dict[int, dict] = {}

    def _countries(self, count: int) -> list[str]:
        return self.rng.choices([c for c, _ in COUNTRIES], weights=[w for _, w in COUNTRIES], k=count)

    def name(self) -> str:
        """Skewed towards the first names of each list: common names are common."""
        rng = self.rng
        return f"{FIRST[int(len(FIRST) * rng.random() ** 1.6)]} {LAST[int(len(LAST) * rng.random() ** 1.6)]}"

    def customer(self, number: int) -> tuple:
        """(name, email, home address number, another address number)."""
        found = self._customers.get(number)
        if found is None:
            rng = self.rng
            name = self.name()
            found = (name, customer_email(rng, name, number), rng.randrange(self.addresses), rng.randrange(self.addresses))
            self._customers[number] = found
        return found

    def _make_address(self, name: str) -> dict:
        rng = self.rng
        country, city, postal = self.postal[int(len(self.postal) * rng.random() ** 1.3)]
        line2 = f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}" if rng.random() < 0.2 else ""
        street = f"{rng.randint(1, 2000)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
        return {"name": name, "line1": street, "line2": line2, "city": city, "postal_code": postal, "country": country}

    def address(self, number: int) -> dict:
        found = self._addresses.get(number)
        if found is None:
            found = self._addresses[number] = self._make_address(self.name())
        return found

    def drop_address(self, burst: int) -> dict:
        """The one address a burst ships to."""
        found = self._drops.get(burst)
        if found is None:
            found = self._drops[burst] = self._make_address(self.name())
        return found

    def respelled(self, address: dict) -> dict:
        """The same address typed differently: the keys still match."""
        line1 = address["line1"]
        return {**address, "line1": f"  {line1.upper()}." if self.rng.random() < 0.5 else line1.replace(" ", "  "),
                "postal_code": address["postal_code"].lower(), "city": address["city"].upper()}
