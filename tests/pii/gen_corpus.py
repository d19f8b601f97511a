#!/usr/bin/python3
"""The labeled PII corpus: synthetic tables in eight locales plus tricky
negatives, written as one SQL script for psql, and the ground truth for
every column of it.

  gen_corpus.py --sql FILE [--labels FILE] [--rows N] [--locales fr_FR,de_DE]
                [--no-tricky]
  gen_corpus.py --check          the committed corpus_labels.json is current

Every value is generated here from a fixed seed (stdlib only), so the same
command always writes the same bytes.  Values that carry a checksum are
computed with it (Luhn, mod 97, mod 11, ...); the tricky negatives are made
to look like PII on purpose (Luhn-valid order numbers, IBAN-shaped strings
failing mod 97, years in columns named `code`, 0/1 flags named `email_*`).

Labels (tests/pii/corpus_labels.json, and the same shape for
shared_labels.json; tests/pii/README.md explains the policy), keyed
"schema.table.column":
  {"entity": "EMAIL"}                 the column is PII of that type
  {"entity": null}                    the column is not PII: tagging it is
                                      a false positive
  {"entity": null, "optional": [...]} either untagged or tagged with one
                                      of these is right (e.g. a city)
plus "tricky": true on the deliberate negatives and "sparse": true on PII
columns with only a handful of non-null values (a low-confidence
`candidate` result counts as found there).
"""
import argparse
import datetime
import json
import os
import random
import sys
import unicodedata

SEED = 20261121
DEFAULT_ROWS = 200
SPARSE_ROWS = 60
HERE = os.path.dirname(os.path.abspath(__file__))
LABELS_PATH = os.path.join(HERE, "corpus_labels.json")
LOCALES = ["en_US", "fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL", "en_GB", "pl_PL"]
TRICKY_SCHEMA = "pii_tricky"

# ---- checksums --------------------------------------------------------------


def luhn_digit(body):
    """The Luhn check digit to append to the digit string body."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number):
    return luhn_digit(number[:-1]) == number[-1]


def iban_from_bban(country, bban):
    """ISO 13616: check digits = 98 - (BBAN + country + "00") mod 97."""
    digits = "".join(str(int(c, 36)) for c in (bban + country + "00").upper())
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def iban_ok(iban):
    s = iban.replace(" ", "").upper()
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def nir_key(first13):
    return f"{97 - int(first13) % 97:02d}"


NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def nif_letter(number):
    return NIF_LETTERS[int(number) % 23]


CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                  [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
                   2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]))


def cf_check(first15):
    """Codice fiscale check letter (DM 23/12/1976): odd positions through
    the conversion table, even positions at face value, sum mod 26."""
    total = 0
    for i, c in enumerate(first15):
        if i % 2 == 0:
            total += CF_ODD[c]
        else:
            total += int(c) if c.isdigit() else ord(c) - ord("A")
    return chr(ord("A") + total % 26)


def nhs_check(first9):
    """Mod 11 with weights 10..2; None when the remainder gives 10 (such
    numbers are never issued)."""
    total = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return "0"
    return None if check == 10 else str(check)


def pesel_check(first10):
    total = sum(int(d) * w for d, w in zip(first10, [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]))
    return str((10 - total % 10) % 10)


def steuer_id_check(first10):
    """ISO 7064 MOD 11,10, as the Bundeszentralamt für Steuern specifies."""
    product = 10
    for ch in first10:
        s = (int(ch) + product) % 10 or 10
        product = (s * 2) % 11
    check = 11 - product
    return "0" if check == 10 else str(check)


def self_test():
    """Known-valid numbers from the public specifications and examples."""
    assert luhn_ok("4539148803436467") and luhn_ok("378282246310005")
    assert iban_ok("GB82WEST12345698765432") and iban_ok("FR7630006000011234567890189")
    assert iban_from_bban("GB", "WEST12345698765432") == "GB82WEST12345698765432"
    assert nir_key("2550814168025") == "38"
    assert nif_letter("12345678") == "Z"
    assert cf_check("RSSMRA85T10A562") == "S"
    assert nhs_check("943476591") == "9"
    assert pesel_check("4405140135") == "9"
    assert steuer_id_check("8609574271") == "9"


# ---- locale material --------------------------------------------------------

FIRST = {
    "en_US": "James Mary Robert Patricia John Jennifer Michael Linda David Susan William "
             "Karen Richard Nancy Joseph Lisa Thomas Betty Charles Sandra",
    "fr_FR": "Jean Marie Pierre Nathalie Michel Isabelle Philippe Sylvie Alain Catherine "
             "Nicolas Françoise Éric Hélène Julien Céline Sébastien Aurélie Thierry Chloé",
    "de_DE": "Peter Ursula Wolfgang Monika Klaus Sabine Jürgen Petra Stefan Andrea Thomas "
             "Birgit Uwe Claudia Günter Renate Lukas Jana Matthias Anja",
    "es_ES": "Antonio María José Carmen Manuel Ana Francisco Isabel David Laura Javier "
             "Cristina Jesús Lucía Daniel Marta Alejandro Pilar Sergio Elena",
    "it_IT": "Marco Giulia Giuseppe Francesca Luca Chiara Andrea Sara Matteo Valentina "
             "Alessandro Elena Davide Martina Stefano Federica Paolo Silvia Roberto Anna",
    "nl_NL": "Daan Emma Sem Julia Lucas Sophie Levi Tess Finn Anna Bram Lotte Thijs Fleur "
             "Jesse Sanne Ruben Eva Lars Iris",
    "en_GB": "Oliver Amelia George Olivia Harry Isla Jack Emily Charlie Ava Jacob Jessica "
             "Thomas Poppy Oscar Sophie William Grace Henry Lily",
    "pl_PL": "Piotr Anna Krzysztof Maria Andrzej Katarzyna Tomasz Małgorzata Paweł Agnieszka "
             "Michał Barbara Marcin Ewa Łukasz Joanna Grzegorz Magdalena Jakub Zofia",
}
LAST = {
    "en_US": "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
             "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin",
    "fr_FR": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon "
             "Laurent Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier",
    "de_DE": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann "
             "Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann",
    "es_ES": "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín "
             "Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez",
    "it_IT": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
             "Gallo Conti De Luca Mancini Costa Giordano Rizzo Lombardi Moretti",
    "nl_NL": "de Jong Jansen de Vries van den Berg van Dijk Bakker Janssen Visser Smit Meijer "
             "de Boer Mulder de Groot Bos Vos Peters Hendriks van Leeuwen Dekker Brouwer",
    "en_GB": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright "
             "Thompson Evans Walker White Roberts Green Hall Wood Jackson Clarke",
    "pl_PL": "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński "
             "Szymański Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk "
             "Piotrowski Grabowski Nowakowski Pawłowski",
}
# Dutch surnames keep their particles: split on the known ones.
NL_LAST = ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
           "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos",
           "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer"]
IT_LAST = ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa",
           "Giordano", "Rizzo", "Lombardi", "Moretti"]
STREETS = {
    "en_US": ["Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Elm Street",
              "Washington Blvd", "Lake Road", "Pine Court", "Sunset Boulevard", "Park Avenue"],
    "fr_FR": ["rue de la Paix", "avenue Victor Hugo", "boulevard Voltaire", "rue du Moulin",
              "place de la République", "rue des Écoles", "chemin des Vignes", "allée des Tilleuls",
              "rue Pasteur", "quai de la Loire"],
    "de_DE": ["Hauptstraße", "Schulstraße", "Gartenweg", "Bahnhofstraße", "Lindenallee",
              "Am Markt", "Goethestraße", "Bergstraße", "Kirchplatz", "Mozartweg"],
    "es_ES": ["Calle Mayor", "Avenida de la Constitución", "Calle Real", "Plaza de España",
              "Calle del Sol", "Paseo de Gracia", "Calle Nueva", "Avenida de Andalucía",
              "Calle San Juan", "Ronda de Valencia"],
    "it_IT": ["Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante Alighieri", "Piazza Mazzini",
              "Via Verdi", "Viale dei Mille", "Via Cavour", "Via della Repubblica", "Via Manzoni"],
    "nl_NL": ["Kerkstraat", "Dorpsstraat", "Molenweg", "Schoolstraat", "Stationsweg",
              "Julianalaan", "Beatrixstraat", "Nieuwstraat", "Prinsengracht", "Wilhelminapark"],
    "en_GB": ["High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane",
              "Manor Road", "Park Road", "Queens Road", "Mill Lane", "Kings Road"],
    "pl_PL": ["ul. Marszałkowska", "ul. Długa", "ul. Polna", "ul. Leśna", "ul. Słoneczna",
              "ul. Krótka", "ul. Szkolna", "al. Jerozolimskie", "ul. Ogrodowa", "ul. Lipowa"],
}
CITIES = {
    "en_US": ["Springfield", "Portland", "Austin", "Denver", "Boston", "Seattle", "Chicago"],
    "fr_FR": ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille", "Bordeaux"],
    "de_DE": ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main", "Stuttgart", "Leipzig"],
    "es_ES": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Zaragoza", "Málaga", "Bilbao"],
    "it_IT": ["Roma", "Milano", "Napoli", "Torino", "Palermo", "Genova", "Bologna"],
    "nl_NL": ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg"],
    "en_GB": ["London", "Manchester", "Leeds", "Bristol", "Sheffield", "Liverpool", "Cardiff"],
    "pl_PL": ["Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Lublin"],
}
DOMAINS = {
    "en_US": ["example.com", "mail.example.net", "example.org"],
    "fr_FR": ["exemple.fr", "courrier.example.fr", "example.com"],
    "de_DE": ["beispiel.de", "post.example.de", "example.org"],
    "es_ES": ["ejemplo.es", "correo.example.es", "example.com"],
    "it_IT": ["esempio.it", "posta.example.it", "example.net"],
    "nl_NL": ["voorbeeld.nl", "mail.example.nl", "example.com"],
    "en_GB": ["example.co.uk", "mail.example.org.uk", "example.com"],
    "pl_PL": ["przyklad.pl", "poczta.example.pl", "example.com"],
}
IT_COMUNI = ["H501", "F205", "F839", "L219", "G273", "D969", "A944", "D612", "A562", "L736"]
FOLD = str.maketrans({"ß": "ss", "ł": "l", "Ł": "L", "ø": "o", "æ": "ae"})


def fold(s):
    s = unicodedata.normalize("NFKD", s.translate(FOLD))
    return "".join(c for c in s if not unicodedata.combining(c))


class Person:
    """One row's person: codice fiscale, NIR and PESEL encode the sex and
    the birth date, e-mails the name."""

    def __init__(self, rng, locale):
        names = FIRST[locale].split()  # male, female, male, ... in turn
        k = rng.randrange(len(names))
        self.sex, self.first = "MF"[k % 2], names[k]
        pool = NL_LAST if locale == "nl_NL" else IT_LAST if locale == "it_IT" else LAST[locale].split()
        self.last = rng.choice(pool)
        if locale == "pl_PL" and self.sex == "F" and self.last.endswith("ki"):
            self.last = self.last[:-1] + "a"  # Kowalski -> Kowalska
        start = datetime.date(1940, 1, 1).toordinal()
        self.dob = datetime.date.fromordinal(rng.randint(start, datetime.date(2005, 12, 31).toordinal()))


# ---- value generators ------------------------------------------------------

def digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def email(rng, p, locale):
    first, last = (fold(x).lower().replace(" ", "") for x in (p.first, p.last))
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{rng.randint(1, 99)}",
                        f"{last}.{first}{rng.randint(1, 9)}", f"{first}{rng.randint(10, 1999)}"])
    return f"{local}@{rng.choice(DOMAINS[locale])}"


def group(s, sizes, sep=" "):
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(x for x in out if x)


def phone(rng, country):
    """(E.164 written with spaces, national format) for one subscriber."""
    if country == "US":
        area = rng.choice(["212", "312", "415", "617", "713", "206", "303", "404", "512", "646"])
        exch = str(rng.randint(200, 999))
        while exch[1:] == "11":
            exch = str(rng.randint(200, 999))
        line = digits(rng, 4)
        return f"+1 {area} {exch} {line}", f"({area}) {exch}-{line}"
    if country == "FR":
        n = rng.choice("1234567") + digits(rng, 8)
        return "+33 " + group(n, [1, 2, 2, 2, 2]), "0" + group(n, [1, 2, 2, 2, 2])
    if country == "DE":
        if rng.random() < 0.6:
            pre = rng.choice(["151", "152", "157", "160", "162", "170", "171", "176"])
            n = digits(rng, 8 if pre.startswith("15") else 7)
        else:
            pre = rng.choice(["30", "40", "89", "69"])
            n = rng.choice("123456789") + digits(rng, 7)
        return f"+49 {pre} {n}", f"0{pre} {n}"
    if country == "ES":
        n = rng.choice(["6" + digits(rng, 8), "7" + rng.choice("1234") + digits(rng, 7),
                        "9" + rng.choice("12345678") + digits(rng, 7)])
        return "+34 " + group(n, [3, 3, 3]), group(n, [3, 3, 3])
    if country == "IT":
        if rng.random() < 0.6:
            n = "3" + rng.choice(["20", "28", "33", "35", "39", "40", "47", "66", "80", "89"]) + digits(rng, 7)
            return "+39 " + group(n, [3, 3, 4]), group(n, [3, 3, 4])
        n = "06" + rng.choice("3456789") + digits(rng, 7)
        return "+39 " + group(n, [2, 4, 4]), group(n, [2, 4, 4])
    if country == "NL":
        n = "6" + rng.choice("12345") + digits(rng, 7)
        return f"+31 6 {n[1:]}", f"06-{n[1:]}"
    if country == "GB":
        if rng.random() < 0.7:
            n = "7" + rng.choice(["400", "500", "700", "800", "900", "911", "723"]) + digits(rng, 6)
            return "+44 " + group(n, [4, 6]), "0" + group(n, [4, 6])
        n = "20" + rng.choice("378") + digits(rng, 7)
        return "+44 " + group(n, [2, 4, 4]), "0" + group(n, [2, 4, 4])
    if country == "PL":
        n = rng.choice("5678") + digits(rng, 8)
        return "+48 " + group(n, [3, 3, 3]), group(n, [3, 3, 3])
    raise ValueError(country)


IBAN_BANKS = {"NL": ["ABNA", "INGB", "RABO", "TRIO", "SNSB"],
              "GB": ["NWBK", "BARC", "LOYD", "HBUK", "MIDL"]}


def bban(rng, country):
    if country == "FR":
        bank, branch, acct = digits(rng, 5), digits(rng, 5), digits(rng, 11)
        key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acct)) % 97
        return f"{bank}{branch}{acct}{key:02d}"
    if country == "DE":
        return digits(rng, 8) + digits(rng, 10)
    if country == "ES":
        return digits(rng, 20)
    if country == "IT":
        return rng.choice("ABCDEFGHIJKLMNOPRSTUVWXYZ") + digits(rng, 5) + digits(rng, 5) + digits(rng, 12)
    if country in ("NL", "GB"):
        return rng.choice(IBAN_BANKS[country]) + digits(rng, 10 if country == "NL" else 14)
    if country == "PL":
        return digits(rng, 24)
    if country == "BE":
        return digits(rng, 12)
    raise ValueError(country)


def iban(rng, country, spaced):
    s = iban_from_bban(country, bban(rng, country))
    return group(s, [4] * 8) if spaced else s


def bad_iban(rng):
    """IBAN-shaped, right length for its country, failing mod 97: one digit
    of a valid BBAN changed (mod 97 catches every single-digit error)."""
    country = rng.choice(["FR", "DE", "ES", "NL", "GB", "IT"])
    s = iban_from_bban(country, bban(rng, country))
    i = len(s) - 1 - rng.randint(0, 5)
    s = s[:i] + str((int(s[i]) + rng.randint(1, 9)) % 10) + s[i + 1:]
    assert not iban_ok(s)
    return group(s, [4] * 8) if rng.random() < 0.5 else s


CARD_ISSUERS = [  # (prefixes, length)
    (["4"], 16), (["51", "52", "53", "54", "55", "2221", "2720", "2500"], 16),
    (["34", "37"], 15), (["6011", "65", "644"], 16), (["3528", "3589", "3540"], 16), (["36"], 14)]


def card(rng, fmt):
    prefixes, n = rng.choice(CARD_ISSUERS)
    body = rng.choice(prefixes)
    body += digits(rng, n - 1 - len(body))
    num = body + luhn_digit(body)
    if fmt == "compact":
        return num
    sizes = [4, 6, 5] if n == 15 else [4, 6, 4] if n == 14 else [4, 4, 4, 4]
    return group(num, sizes, " " if fmt == "spaced" else "-")


def luhn_order_number(rng, n):
    """A Luhn-valid number no card issuer uses: first digit 1 or 7 (ISO/IEC
    7812 industries without payment brands), 12 or 16 digits."""
    body = rng.choice("17") + digits(rng, n - 2)
    return body + luhn_digit(body)


def us_ssn(rng):
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def fr_nir(rng, p, spaced):
    dept = rng.choice([d for d in range(1, 96) if d != 20])
    first = (("1" if p.sex == "M" else "2") + f"{p.dob.year % 100:02d}{p.dob.month:02d}{dept:02d}"
             f"{rng.randint(1, 990):03d}{rng.randint(1, 999):03d}")
    s = first + nir_key(first)
    return group(s, [1, 2, 2, 2, 3, 3, 2]) if spaced else s


def es_nif(rng):
    if rng.random() < 0.7:
        n = digits(rng, 8)
        return n + nif_letter(n)
    lead = rng.choice("XYZ")
    n = digits(rng, 7)
    return lead + n + nif_letter(str("XYZ".index(lead)) + n)  # X=0, Y=1, Z=2


def it_cf(rng, p):
    def letters(s):
        s = "".join(c for c in fold(s).upper() if c.isalpha())
        return [c for c in s if c not in "AEIOU"], [c for c in s if c in "AEIOU"]
    cons, vow = letters(p.last)
    sur = "".join(cons + vow + ["X"] * 3)[:3]
    cons, vow = letters(p.first)
    name = cons[0] + cons[2] + cons[3] if len(cons) >= 4 else "".join(cons + vow + ["X"] * 3)[:3]
    day = p.dob.day + (40 if p.sex == "F" else 0)
    first15 = f"{sur}{name}{p.dob.year % 100:02d}{'ABCDEHLMPRST'[p.dob.month - 1]}{day:02d}{rng.choice(IT_COMUNI)}"
    return first15 + cf_check(first15)


def uk_nhs(rng, spaced=True):
    while True:
        first9 = rng.choice("467") + digits(rng, 8)
        check = nhs_check(first9)
        if check is not None:
            s = first9 + check
            return group(s, [3, 3, 4]) if spaced else s


def pl_pesel(rng, p):
    month = p.dob.month + (20 if p.dob.year >= 2000 else 0)
    serial = digits(rng, 3)
    sex = rng.choice("13579" if p.sex == "M" else "02468")
    first10 = f"{p.dob.year % 100:02d}{month:02d}{p.dob.day:02d}{serial}{sex}"
    return first10 + pesel_check(first10)


def de_steuer_id(rng):
    """Ten digits, first not 0, one digit twice and one missing, + check."""
    while True:
        ds = list("0123456789")
        rng.shuffle(ds)
        ds[9] = rng.choice(ds[:9])  # drop one digit, repeat another
        rng.shuffle(ds)
        if ds[0] != "0":
            first10 = "".join(ds)
            return first10 + steuer_id_check(first10)


def ipv4(rng):
    return rng.choice([f"203.0.113.{rng.randint(1, 254)}", f"198.51.100.{rng.randint(1, 254)}",
                       f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"])


def ipv6(rng):
    groups = [f"{rng.randint(0, 0xffff):x}" for _ in range(6)]
    if rng.random() < 0.5:
        return "2001:db8:" + ":".join(groups)
    return f"2001:db8:{groups[0]}::{groups[1]}:{groups[2]}"


def mac(rng, sep=":", upper=False):
    s = sep.join(f"{rng.randint(0, 255):02x}" for _ in range(6))
    return s.upper() if upper else s


def street_address(rng, locale):
    street, n = rng.choice(STREETS[locale]), rng.randint(1, 220)
    if locale in ("en_US", "en_GB", "fr_FR"):
        return f"{n} {street}" if locale != "fr_FR" else f"{n}{rng.choice(['', '', ' bis'])} {street}"
    if locale in ("es_ES",):
        return f"{street}, {n}" + rng.choice(["", f", {rng.randint(1, 8)}º {rng.choice('ABCD')}"])
    if locale == "it_IT":
        return f"{street}, {n}"
    if locale == "pl_PL":
        return f"{street} {n}" + rng.choice(["", f"/{rng.randint(1, 60)}"])
    return f"{street} {n}" + rng.choice(["", "a", "b", ""])


def postcode(rng, locale):
    if locale == "en_US":
        return f"{rng.randint(1001, 99950):05d}" + rng.choice(["", "", f"-{rng.randint(1, 9999):04d}"])
    if locale in ("fr_FR", "es_ES", "it_IT"):
        return f"{rng.randint(1, 95):02d}{rng.randint(0, 999):03d}"
    if locale == "de_DE":
        return f"{rng.randint(1067, 99998):05d}"
    if locale == "nl_NL":
        return f"{rng.randint(1011, 9999)} {rng.choice('ABCDEGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}"
    if locale == "en_GB":
        area = rng.choice(["SW", "N", "E", "W", "M", "LS", "B", "BS", "CF", "EH"])
        return f"{area}{rng.randint(1, 20)} {rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    if locale == "pl_PL":
        return f"{rng.randint(0, 99):02d}-{rng.randint(0, 999):03d}"
    raise ValueError(locale)


def dob_text(p, fmt):
    d = p.dob
    return {"iso": d.isoformat(), "dmy/": f"{d.day:02d}/{d.month:02d}/{d.year}",
            "dmy.": f"{d.day:02d}.{d.month:02d}.{d.year}"}[fmt]


def timestamp(rng, start_year=2019):
    utc = datetime.timezone.utc
    start = datetime.datetime(start_year, 1, 1, tzinfo=utc).timestamp()
    end = datetime.datetime(2026, 6, 30, tzinfo=utc).timestamp()
    t = datetime.datetime.fromtimestamp(int(rng.uniform(start, end)), utc).replace(tzinfo=None)
    return t.isoformat(sep=" ") + "+00"


def uuid(rng):
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


# ---- tables -----------------------------------------------------------------
#
# A column is (name, sql type, value function (rng, person, row index) ->
# text or None, label).  Labels: an entity name, None (not PII), or a dict
# for the extra flags.

def L(entity=None, **flags):
    d = {"entity": entity}
    d.update(flags)
    return d


COUNTRY = {"en_US": "US", "fr_FR": "FR", "de_DE": "DE", "es_ES": "ES", "it_IT": "IT",
           "nl_NL": "NL", "en_GB": "GB", "pl_PL": "PL"}

# Per locale: table names and column names in the language (and habits) of
# a database made there.  NL and PL databases use English names here: the
# name signals cover EN, FR, DE, ES and IT; values carry the rest.
NAMES = {
    "en_US": dict(people="customers", pay="payments", sess="sessions", id="customer_id",
                  first="first_name", last="last_name", email="email", tel="phone_number",
                  tel2="home_phone", dob="date_of_birth", addr="street_address", pc="zip_code",
                  city="city", natid="ssn", created="created_at", extra="is_active",
                  iban="beneficiary_iban", card="card_number", holder="cardholder_name",
                  ip="ip_address", ip6="ipv6_address", mac="mac_address"),
    "fr_FR": dict(people="clients", pay="paiements", sess="connexions", id="id_client",
                  first="prenom", last="nom", email="courriel", tel="telephone", tel2="portable",
                  dob="date_naissance", addr="adresse", pc="code_postal", city="ville",
                  natid="numero_securite_sociale", created="date_creation", extra="abonne_newsletter",
                  iban="iban", card="numero_carte", holder="nom_titulaire", ip="adresse_ip",
                  ip6="adresse_ipv6", mac="adresse_mac"),
    "de_DE": dict(people="kunden", pay="zahlungen", sess="sitzungen", id="kundenNr",
                  first="vorname", last="nachname", email="emailAdresse", tel="telefonNummer",
                  tel2="handy", dob="geburtsdatum", addr="anschrift", pc="plz", city="ort",
                  natid="steuerId", created="erstelltAm", extra="newsletterAktiv",
                  iban="iban", card="kartenNummer", holder="karteninhaberName", ip="ipAdresse",
                  ip6="ipv6Adresse", mac="macAdresse"),
    "es_ES": dict(people="clientes", pay="pagos", sess="sesiones", id="id",
                  first="nombre", last="apellidos", email="correo_electronico", tel="telefono",
                  tel2="movil", dob="fecha_nacimiento", addr="direccion", pc="codigo_postal",
                  city="ciudad", natid="dni", created="fecha_alta", extra="activo",
                  iban="cuenta_iban", card="numero_tarjeta", holder="nombre_titular",
                  ip="direccion_ip", ip6="ipv6", mac="direccion_mac"),
    "it_IT": dict(people="clienti", pay="pagamenti", sess="sessioni", id="id",
                  first="nome", last="cognome", email="indirizzoEmail", tel="telefono",
                  tel2="cellulare", dob="dataNascita", addr="indirizzo", pc="cap", city="citta",
                  natid="codiceFiscale", created="dataCreazione", extra="attivo",
                  iban="ibanConto", card="numeroCarta", holder="nomeTitolare", ip="indirizzoIp",
                  ip6="indirizzoIpv6", mac="indirizzoMac"),
    "nl_NL": dict(people="klanten", pay="betalingen", sess="sessies", id="id",
                  first="firstName", last="lastName", email="emailAddress", tel="phone",
                  tel2="mobileNumber", dob="birthDate", addr="streetAddress", pc="postalCode",
                  city="city", natid=None, created="createdAt", extra="isActive",
                  iban="iban", card="cardNumber", holder="holderName", ip="ipAddress",
                  ip6="ipV6", mac="macAddress"),
    "en_GB": dict(people="customers", pay="payments", sess="sessions", id="cust_id",
                  first="fname", last="lname", email="email_addr", tel="tel", tel2="mob_no",
                  dob="dob", addr="addr_line1", pc="post_code", city="town", natid="nhs_no",
                  created="created_on", extra="marketing_opt_in",
                  iban="iban", card="card_no", holder="card_holder_name", ip="ip_addr",
                  ip6="ip6_addr", mac="mac"),
    "pl_PL": dict(people="klienci", pay="platnosci", sess="sesje", id="id",
                  first="first_name", last="surname", email="email", tel="phone",
                  tel2="mobile_phone", dob="birth_date", addr="address", pc="postal_code",
                  city="city", natid="pesel", created="created_at", extra="active",
                  iban="iban", card="card_number", holder="holder_name", ip="ip",
                  ip6="ipv6", mac="mac_addr"),
}
NATID = {  # entity, value function
    "en_US": ("US_SSN", lambda rng, p: us_ssn(rng)),
    "fr_FR": ("FR_NIR", lambda rng, p: fr_nir(rng, p, spaced=True)),
    "de_DE": ("DE_TAX_ID", lambda rng, p: de_steuer_id(rng)),
    "es_ES": ("ES_NIF", lambda rng, p: es_nif(rng)),
    "it_IT": ("IT_FISCAL_CODE", lambda rng, p: it_cf(rng, p)),
    "en_GB": ("UK_NHS", lambda rng, p: uk_nhs(rng)),
    "pl_PL": ("PL_PESEL", lambda rng, p: pl_pesel(rng, p)),
}
# Birth dates: a `date` column, or text in the country's usual format.
DOB_FMT = {"fr_FR": "dmy/", "de_DE": "dmy.", "es_ES": "dmy/", "it_IT": "dmy/"}
CARD_FMT = {"en_US": "spaced", "fr_FR": "spaced", "de_DE": "compact", "es_ES": "dashed",
            "it_IT": "compact", "nl_NL": "spaced", "en_GB": "compact", "pl_PL": "dashed"}
IBAN_SPACED = {"fr_FR", "es_ES", "nl_NL", "pl_PL"}


def people_table(locale):
    n, c = NAMES[locale], COUNTRY[locale]
    # The E.164 column is written without spaces in half the locales.
    compact = locale in ("de_DE", "it_IT", "en_GB", "pl_PL")
    dob_fmt = DOB_FMT.get(locale)
    cols = [
        (n["id"], "integer", lambda rng, p, i: str(1000 + i), L(None, note="sequential id")),
        (n["first"], "text", lambda rng, p, i: p.first, L("PERSON_NAME")),
        (n["last"], "text", lambda rng, p, i: p.last, L("PERSON_NAME")),
        (n["email"], "text", lambda rng, p, i: email(rng, p, locale), L("EMAIL")),
        (n["tel"], "text",
         lambda rng, p, i: (lambda e: e.replace(" ", "") if compact else e)(phone(rng, c)[0]),
         L("PHONE", note="E.164")),
    ]
    if locale != "pl_PL":  # no Polish national format among the recognized ones
        cols.append((n["tel2"], "text",
                     lambda rng, p, i: None if rng.random() < 0.15 else phone(rng, c)[1],
                     L("PHONE", note="national format, 15% null")))
    else:
        cols.append((n["tel2"], "text", lambda rng, p, i: phone(rng, c)[0],
                     L("PHONE", note="E.164 with spaces")))
    cols += [
        (n["dob"], "text" if dob_fmt else "date",
         lambda rng, p, i: dob_text(p, dob_fmt or "iso"), L("DATE_OF_BIRTH")),
        (n["addr"], "text", lambda rng, p, i: street_address(rng, locale), L("ADDRESS")),
        (n["pc"], "text", lambda rng, p, i: postcode(rng, locale), L("POSTCODE")),
        (n["city"], "text", lambda rng, p, i: rng.choice(CITIES[locale]),
         L(None, optional=["ADDRESS"], note="city: optional by policy")),
    ]
    if locale in NATID:
        entity, fn = NATID[locale]
        cols.append((n["natid"], "text", lambda rng, p, i: fn(rng, p), L(entity)))
    cols += [
        (n["created"], "timestamptz", lambda rng, p, i: timestamp(rng), L(None, note="not a birth date")),
        (n["extra"], "boolean", lambda rng, p, i: rng.choice(["t", "f"]), L(None)),
    ]
    if locale == "en_US":
        cols.append(("email_verified", "integer", lambda rng, p, i: rng.choice("01"),
                     L(None, tricky=True, note="0/1 flag named like an e-mail")))
    return n["people"], cols


def payments_table(locale):
    n, c = NAMES[locale], COUNTRY[locale]
    spaced = locale in IBAN_SPACED
    countries = ["DE", "FR", "GB", "NL", "ES", "IT", "BE"] if c == "US" else [c]
    return n["pay"], [
        ("id", "integer", lambda rng, p, i: str(i + 1), L(None, note="sequential id")),
        (n["iban"], "text", lambda rng, p, i: iban(rng, rng.choice(countries), spaced), L("IBAN")),
        (n["card"], "text", lambda rng, p, i: card(rng, CARD_FMT[locale]), L("CREDIT_CARD")),
        (n["holder"], "text", lambda rng, p, i: f"{p.first} {p.last}", L("PERSON_NAME")),
        ("amount", "numeric(10,2)", lambda rng, p, i: f"{rng.uniform(1, 5000):.2f}", L(None)),
        ("currency", "text", lambda rng, p, i: rng.choice(["EUR", "USD", "GBP", "PLN"]), L(None)),
        ("paid_at", "timestamptz", lambda rng, p, i: timestamp(rng), L(None)),
    ]


def sessions_table(locale):
    n = NAMES[locale]
    # Native Postgres types in two locales, text elsewhere.
    ip_type = "inet" if locale in ("en_US", "de_DE") else "text"
    mac_type = "macaddr" if locale in ("en_US", "nl_NL") else "text"
    mac_style = {"fr_FR": ("-", True), "es_ES": (":", True), "en_GB": ("-", False)}.get(locale, (":", False))
    return n["sess"], [
        ("id", "bigint", lambda rng, p, i: str(500000 + i), L(None, note="sequential id")),
        (n["ip"], ip_type, lambda rng, p, i: ipv4(rng), L("IP_ADDRESS")),
        (n["ip6"], ip_type, lambda rng, p, i: ipv6(rng), L("IP_ADDRESS")),
        (n["mac"], mac_type, lambda rng, p, i: mac(rng, *mac_style), L("MAC_ADDRESS")),
        ("session_token", "uuid", lambda rng, p, i: uuid(rng), L(None)),
        ("user_agent", "text", lambda rng, p, i: rng.choice([
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1"]), L(None)),
        ("started_at", "timestamptz", lambda rng, p, i: timestamp(rng), L(None)),
    ]


STAFF = {  # table, full name, e-mail, national id, IBAN, hiring date, salary
    "en_US": ("employees", "full_name", "work_email", "social_security_number", "payroll_iban",
              "hired_on", "salary"),
    "fr_FR": ("salaries", "nom_complet", "email_pro", "nir", "iban_paie", "date_embauche", "salaire"),
    "de_DE": ("mitarbeiter", "vollstaendigerName", "emailGeschaeftlich", "steuerIdentifikationsnummer",
              "gehaltsIban", "eintrittsdatum", "gehalt"),
    "es_ES": ("empleados", "nombre_completo", "email_trabajo", "nif", "iban_nomina",
              "fecha_contratacion", "salario"),
    "it_IT": ("dipendenti", "nome_completo", "email_lavoro", "cod_fiscale", "iban_stipendio",
              "data_assunzione", "stipendio"),
    "nl_NL": ("medewerkers", "fullName", "workEmail", None, "salaryIban", "hiredOn", "salary"),
    "en_GB": ("staff", "full_name", "work_email", "nhs_number", "payroll_iban", "start_date", "salary"),
    "pl_PL": ("pracownicy", "full_name", "work_email", "nr_pesel", "payroll_iban", "hired_on", "salary"),
}
# The national identifiers again, in the other usual way of writing them.
NATID_ALT = {
    "en_US": lambda rng, p: us_ssn(rng).replace("-", ""),
    "fr_FR": lambda rng, p: fr_nir(rng, p, spaced=False),
    "de_DE": lambda rng, p: group(de_steuer_id(rng), [2, 3, 3, 3]),
    "es_ES": lambda rng, p: (lambda v: v[:-1] + "-" + v[-1])(es_nif(rng)),
    "it_IT": lambda rng, p: it_cf(rng, p),
    "en_GB": lambda rng, p: uk_nhs(rng, spaced=False),
    "pl_PL": lambda rng, p: pl_pesel(rng, p),
}


def staff_table(locale):
    table, name, mail, natid, ibancol, hired, salary = STAFF[locale]
    c = COUNTRY[locale]
    cols = [
        ("id", "integer", lambda rng, p, i: str(i + 1), L(None, note="sequential id")),
        (name, "text", lambda rng, p, i: f"{p.first} {p.last}", L("PERSON_NAME")),
        (mail, "text", lambda rng, p, i: email(rng, p, locale), L("EMAIL")),
    ]
    if natid:
        alt = NATID_ALT[locale]
        cols.append((natid, "text", lambda rng, p, i: alt(rng, p),
                     L(NATID[locale][0], note="alternate format")))
    cols += [
        (ibancol, "text", lambda rng, p, i: iban(rng, "GB" if c == "US" else c, c not in IBAN_SPACED),
         L("IBAN")),
        (hired, "date", lambda rng, p, i: timestamp(rng, 2000)[:10], L(None, note="not a birth date")),
        (salary, "integer", lambda rng, p, i: str(rng.randrange(24000, 120000, 500)), L(None)),
    ]
    return table, cols


def export_table(locale):
    """Neutral column names: only the values can say what a column holds."""
    c = COUNTRY[locale]
    cols = [
        (lambda rng, p, i: email(rng, p, locale), L("EMAIL")),
        (lambda rng, p, i: phone(rng, c)[0], L("PHONE", note="E.164")),
        (lambda rng, p, i: iban(rng, "FR" if c == "US" else c, False), L("IBAN")),
        (lambda rng, p, i: card(rng, "compact"), L("CREDIT_CARD")),
        (lambda rng, p, i: ipv4(rng), L("IP_ADDRESS")),
        (lambda rng, p, i: mac(rng), L("MAC_ADDRESS")),
        (lambda rng, p, i: str(rng.randint(1, 100000)), L(None, note="random integers as text")),
        (lambda rng, p, i: rng.choice(["red", "green", "blue", "amber", "grey"]), L(None)),
    ]
    if locale in NATID:
        entity, fn = NATID[locale]
        cols.insert(4, (lambda rng, p, i: fn(rng, p), L(entity)))
    # A fixed, locale-dependent shuffle so that col1 is not always e-mail.
    order = list(range(len(cols)))
    random.Random(f"{SEED}-{locale}-export").shuffle(order)
    return "export_batch", [(f"col{k + 1}", "text", cols[j][0], cols[j][1]) for k, j in enumerate(order)]


# ---- tricky negatives -------------------------------------------------------

PRODUCTS = ["Widget", "Gadget", "Sprocket", "Gizmo", "Doohickey", "Flange", "Bracket", "Valve",
            "Gasket", "Lever"]
PRODUCTS_FR = ["Chaise pliante", "Lampe de bureau", "Cafetière", "Tapis de souris", "Agrafeuse",
               "Bouilloire", "Étagère murale", "Casque audio"]
COMMENTS = [
    "Customer asked us to update the email address on file.",
    "Called back: prefers phone contact in the afternoon.",
    "Email bounced twice, please check the spelling with the customer.",
    "No phone number given; send the invoice by email.",
    "Le client souhaite recevoir la facture par courriel.",
    "Rückruf erbeten, Telefonnummer folgt per E-Mail.",
    "Delivery address changed, see the ticket.",
    "Asked for the IBAN form; will send it next week.",
]
SUBJECTS = ["Email change request", "Phone upgrade", "Address update", "Card replacement",
            "Password reset", "Newsletter unsubscribe"]


def tricky_orders():
    T = dict(tricky=True)
    return "orders", [
        ("order_id", "integer", lambda rng, p, i: str(i + 1), L(None, note="sequential id")),
        ("order_number", "text", lambda rng, p, i: luhn_order_number(rng, 16),
         L(None, note="16 digits, Luhn-valid, first digit 1 or 7 (no issuer)", **T)),
        ("order_ref", "text", lambda rng, p, i: luhn_order_number(rng, 12),
         L(None, note="12 digits, Luhn-valid, first digit 1 or 7", **T)),
        ("product_code", "text", lambda rng, p, i: f"{rng.randint(10000, 99999)}",
         L(None, note="5-digit product codes (zip-like)", **T)),
        ("expiry_code", "integer", lambda rng, p, i: str(rng.randint(1950, 2030)),
         L(None, note="years 1950-2030", **T)),
        ("code", "text", lambda rng, p, i: str(rng.randint(1950, 2030)),
         L(None, note="years 1950-2030 as text", **T)),
        ("verification_code", "text", lambda rng, p, i: digits(rng, rng.choice([3, 4])),
         L(None, note="3-4 digit one-time codes, not card data", **T)),
        ("card_expiry_year", "integer", lambda rng, p, i: str(rng.randint(2024, 2032)),
         L(None, note="years in a column named after a card", **T)),
        ("transfer_ref", "text", lambda rng, p, i: bad_iban(rng),
         L(None, note="IBAN-shaped, right length, failing mod 97", **T)),
        ("amount", "numeric(10,2)", lambda rng, p, i: f"{rng.uniform(1, 900):.2f}", L(None)),
        ("quantity", "smallint", lambda rng, p, i: str(rng.randint(1, 12)), L(None)),
        ("ordered_at", "timestamptz", lambda rng, p, i: timestamp(rng), L(None)),
    ]


def tricky_accounts():
    T = dict(tricky=True)
    return "account_flags", [
        ("id", "integer", lambda rng, p, i: str(i + 1), L(None, note="sequential id")),
        ("email_verified", "integer", lambda rng, p, i: rng.choice("01"),
         L(None, note="0/1 flag", **T)),
        ("has_phone", "boolean", lambda rng, p, i: rng.choice("tf"), L(None, note="boolean", **T)),
        ("phone_confirmed", "text", lambda rng, p, i: rng.choice(["true", "false"]),
         L(None, note="true/false as text", **T)),
        ("isEmailOptIn", "smallint", lambda rng, p, i: rng.choice("01"),
         L(None, note="0/1 flag, camelCase", **T)),
        ("email_count", "integer", lambda rng, p, i: str(rng.randint(0, 5)),
         L(None, note="small integers", **T)),
        ("phone_type", "text", lambda rng, p, i: rng.choice(["mobile", "home", "work"]),
         L(None, note="enum", **T)),
        ("email_status", "text", lambda rng, p, i: rng.choice(["bounced", "delivered", "pending"]),
         L(None, note="enum", **T)),
        ("name_length", "smallint", lambda rng, p, i: str(rng.randint(3, 20)),
         L(None, note="small integers", **T)),
        ("dob_verified", "boolean", lambda rng, p, i: rng.choice("tf"), L(None, note="boolean", **T)),
        ("ip_count", "integer", lambda rng, p, i: str(rng.randint(0, 40)),
         L(None, note="small integers", **T)),
        ("telefono_valido", "text", lambda rng, p, i: rng.choice(["si", "no"]),
         L(None, note="yes/no in Spanish", **T)),
    ]


def tricky_notes():
    T = dict(tricky=True)
    return "notes", [
        ("id", "integer", lambda rng, p, i: str(i + 1), L(None, note="sequential id")),
        ("comment", "text", lambda rng, p, i: rng.choice(COMMENTS),
         L(None, note="free text mentioning email/phone, no PII", **T)),
        ("subject", "text", lambda rng, p, i: rng.choice(SUBJECTS),
         L(None, note="short text naming PII kinds", **T)),
        ("product_name", "text", lambda rng, p, i: f"{rng.choice(PRODUCTS)} {rng.randint(1, 900)}",
         L(None, note="a name column holding product names", **T)),
        ("nom_produit", "text", lambda rng, p, i: rng.choice(PRODUCTS_FR),
         L(None, note="FR `nom` holding product names", **T)),
        ("software_version", "text",
         lambda rng, p, i: f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
         L(None, note="three-part version numbers", **T)),
        ("sparse_note", "text", lambda rng, p, i: rng.choice(["ok", "retry"]) if i % 70 == 3 else None,
         L(None, note="3 non-null words", **T)),
    ]


def tricky_sparse():
    """PII columns with a handful of values among NULLs, and names that
    promise PII over columns that hold none."""
    S = dict(sparse=True)
    T = dict(tricky=True)
    return "contacts_legacy", [
        ("id", "integer", lambda rng, p, i: str(i + 1), L(None, note="sequential id")),
        ("ssn", "text", lambda rng, p, i: us_ssn(rng) if i == 17 else None,
         L("US_SSN", note="1 non-null value in 60 rows", **S)),
        ("backup_email", "text", lambda rng, p, i: email(rng, p, "en_GB") if i % 20 == 5 else None,
         L("EMAIL", note="3 non-null values", **S)),
        ("alt_iban", "text", lambda rng, p, i: iban(rng, "DE", False) if i in (8, 40) else None,
         L("IBAN", note="2 non-null values", **S)),
        ("emergency_phone", "text", lambda rng, p, i: phone(rng, "FR")[0] if i % 15 == 2 else None,
         L("PHONE", note="4 non-null values", **S)),
        ("fax_number", "text", lambda rng, p, i: None, L(None, note="all NULL", **T)),
        ("telephone", "text", lambda rng, p, i: "", L(None, note="all empty strings", **T)),
        ("legacy_flag", "smallint", lambda rng, p, i: rng.choice("01") if i in (3, 9) else None,
         L(None, note="2 non-null 0/1 values", **T)),
    ]


# ---- SQL --------------------------------------------------------------------

def copy_escape(v):
    if v is None:
        return "\\N"
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def emit_table(out, labels, rng, locale, schema, table, cols, rows):
    out.append(f"CREATE TABLE {qi(schema)}.{qi(table)} (\n  "
               + ",\n  ".join(f"{qi(c[0])} {c[1]}" for c in cols) + "\n);")
    out.append(f"COPY {qi(schema)}.{qi(table)} ({', '.join(qi(c[0]) for c in cols)}) FROM stdin;")
    for i in range(rows):
        p = Person(rng, locale)
        out.append("\t".join(copy_escape(c[2](rng, p, i)) for c in cols))
    out.append("\\.")
    for c in cols:
        lab = dict(c[3])
        lab["locale"] = locale
        labels[f"{schema}.{table}.{c[0]}"] = lab


def schema_name(locale):
    return "pii_" + locale.lower()


def generate(locales=LOCALES, tricky=True, rows=DEFAULT_ROWS):
    """(SQL script, {"schema.table.column": label}) for the chosen parts."""
    self_test()
    out = ["-- Generated by tests/pii/gen_corpus.py; do not edit.",
           "SET client_encoding = 'UTF8';", "SET standard_conforming_strings = on;",
           "SET client_min_messages = warning;"]
    labels = {}
    for locale in locales:
        rng = random.Random(f"{SEED}-{locale}")
        schema = schema_name(locale)
        out.append(f"DROP SCHEMA IF EXISTS {qi(schema)} CASCADE;\nCREATE SCHEMA {qi(schema)};")
        for make in (people_table, payments_table, staff_table, sessions_table, export_table):
            table, cols = make(locale)
            emit_table(out, labels, rng, locale, schema, table, cols, rows)
    if tricky:
        rng = random.Random(f"{SEED}-tricky")
        out.append(f"DROP SCHEMA IF EXISTS {TRICKY_SCHEMA} CASCADE;\nCREATE SCHEMA {TRICKY_SCHEMA};")
        for make in (tricky_orders, tricky_accounts, tricky_notes):
            table, cols = make()
            emit_table(out, labels, rng, "en_US", TRICKY_SCHEMA, table, cols, rows)
        table, cols = tricky_sparse()
        emit_table(out, labels, rng, "en_GB", TRICKY_SCHEMA, table, cols, SPARSE_ROWS)
    out.append("ANALYZE;")
    return "\n".join(out) + "\n", labels


def schemas(locales=LOCALES, tricky=True):
    return [schema_name(x) for x in locales] + ([TRICKY_SCHEMA] if tricky else [])


def labels_document(labels):
    return {
        "about": "Ground truth for every column of the corpus generated by "
                 "tests/pii/gen_corpus.py (written by it; see tests/pii/README.md).",
        "seed": SEED,
        "columns": labels,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sql", help="write the SQL script here")
    ap.add_argument("--labels", help=f"write the labels here (default with --sql: {LABELS_PATH})")
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    ap.add_argument("--locales", default=",".join(LOCALES))
    ap.add_argument("--no-tricky", action="store_true")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the committed labels match the generator")
    a = ap.parse_args()
    locales = [x for x in a.locales.split(",") if x]
    unknown = [x for x in locales if x not in LOCALES]
    if unknown:
        ap.error(f"unknown locale(s) {unknown}; known: {LOCALES}")
    if a.check:
        _, labels = generate()
        with open(LABELS_PATH) as f:
            committed = json.load(f)
        if committed != labels_document(labels):
            print(f"{LABELS_PATH} is stale: run tests/pii/gen_corpus.py --sql /dev/null", file=sys.stderr)
            sys.exit(1)
        print(f"{LABELS_PATH}: {len(labels)} columns, current")
        return
    if not a.sql:
        ap.error("--sql FILE or --check is required")
    sql, labels = generate(locales, not a.no_tricky, a.rows)
    with open(a.sql, "w", encoding="utf-8") as f:
        f.write(sql)
    full = locales == LOCALES and not a.no_tricky and a.rows == DEFAULT_ROWS
    path = a.labels or (LABELS_PATH if full else None)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(labels_document(labels), f, indent=1, ensure_ascii=False, sort_keys=True)
            f.write("\n")
    print(f"corpus: {len(labels)} columns in {len(schemas(locales, not a.no_tricky))} schemas"
          + (f", labels in {path}" if path else ""))


if __name__ == "__main__":
    main()
