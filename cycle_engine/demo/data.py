"""Fictional but realistic seed data for the demo: a Central American Learning Alliance of 19
partner agencies across Guatemala, Honduras, Nicaragua and El Salvador working with 57 local
organisations (three each), as the method reports. Every name and address is invented; emails
use example.org domains."""

from __future__ import annotations

ALLIANCE = {
    "name": "Alianza de Aprendizaje Centroamericana",
    "theme": "Rural enterprise development and market access for smallholder farmers",
    "timezone": "America/Guatemala",
    "language": "es",
    "working_hours_start": 8,
    "working_hours_end": 17,
}

ZONES = {
    "Guatemala": "America/Guatemala",
    "Honduras": "America/Tegucigalpa",
    "Nicaragua": "America/Managua",
    "El Salvador": "America/El_Salvador",
}

#: (name, kind, country, short domain, contact person, language)
PARTNERS: list[tuple[str, str, str, str, str, str]] = [
    (
        "Centro Mesoamericano de Investigación Agrícola",
        "research",
        "Guatemala",
        "cemia",
        "Lucía Ramírez",
        "es",
    ),
    (
        "Instituto de Agronegocios del Trópico Seco",
        "research",
        "Nicaragua",
        "iats",
        "Ernesto Calderón",
        "es",
    ),
    (
        "Universidad Agraria del Valle de Sula",
        "research",
        "Honduras",
        "uavs",
        "Marta Villeda",
        "es",
    ),
    ("Fundación Raíces del Altiplano", "ngo", "Guatemala", "raices", "Diego Xicará", "es"),
    ("Asociación Tierra Fértil", "ngo", "Honduras", "tierrafertil", "Carmen Zelaya", "es"),
    ("Red Campesina Solidaria", "ngo", "Nicaragua", "redcampesina", "Juan Pablo Ortega", "es"),
    ("Fundación Surco Salvadoreño", "ngo", "El Salvador", "surco", "Rosa Amaya", "es"),
    ("Cooperación Rural para el Desarrollo", "ngo", "El Salvador", "corude", "Óscar Melara", "es"),
    ("Programa de Mercados Inclusivos", "ngo", "Guatemala", "pmi", "Ana Lucía Pérez", "es"),
    (
        "Fondo Nórdico para Medios de Vida Rurales",
        "donor",
        "Nicaragua",
        "fonmer",
        "Ingrid Halvorsen",
        "en",
    ),
    (
        "Agencia Andina-Centroamericana de Cooperación",
        "donor",
        "Honduras",
        "aacc",
        "Peter Whitfield",
        "en",
    ),
    (
        "Ministerio de Agricultura y Ganadería, Dirección de Extensión",
        "government",
        "El Salvador",
        "mag-extension",
        "Jorge Alvarenga",
        "es",
    ),
    (
        "Secretaría de Desarrollo Rural de Occidente",
        "government",
        "Guatemala",
        "sedro",
        "Silvia Cabrera",
        "es",
    ),
    (
        "Instituto Nicaragüense de Innovación Agropecuaria",
        "government",
        "Nicaragua",
        "inia",
        "Francisco Rivas",
        "es",
    ),
    (
        "Comisión Hondureña de Políticas Agroalimentarias",
        "government",
        "Honduras",
        "chpa",
        "Gabriela Mejía",
        "es",
    ),
    ("Exportadora Café Volcán", "private", "Guatemala", "cafevolcan", "Roberto Castañeda", "es"),
    (
        "Agroinsumos del Pacífico",
        "private",
        "El Salvador",
        "agropacifico",
        "Claudia Henríquez",
        "es",
    ),
    (
        "Mercados Frescos de Honduras",
        "private",
        "Honduras",
        "mercadosfrescos",
        "Luis Fernando Paz",
        "es",
    ),
    (
        "Semillas Nativas de Nicaragua",
        "private",
        "Nicaragua",
        "semillasnativas",
        "Patricia Sandino",
        "es",
    ),
]

_LOCAL_KINDS = ["Cooperativa", "Asociación de Productores", "Grupo de Mujeres"]
_PLACES = {
    "Guatemala": [
        "San Juan Ostuncalco",
        "Tecpán",
        "Santa Cruz del Quiché",
        "Cobán",
        "San Marcos",
        "Chimaltenango",
        "Sololá",
        "Huehuetenango",
        "Jalapa",
        "Totonicapán",
        "Zacapa",
        "Rabinal",
        "Nebaj",
        "Patzún",
        "Momostenango",
    ],
    "Honduras": [
        "Intibucá",
        "La Esperanza",
        "Santa Rosa de Copán",
        "Marcala",
        "Olancho",
        "Yoro",
        "Ocotepeque",
        "Gracias",
        "Danlí",
        "Siguatepeque",
        "Lempira",
        "Comayagua",
    ],
    "Nicaragua": [
        "Matagalpa",
        "Jinotega",
        "Estelí",
        "Somoto",
        "Boaco",
        "Nueva Guinea",
        "San Dionisio",
        "Condega",
        "Quilalí",
        "Muy Muy",
        "Terrabona",
        "Pantasma",
    ],
    "El Salvador": [
        "Chalatenango",
        "Morazán",
        "La Libertad",
        "Ahuachapán",
        "Sonsonate",
        "Usulután",
        "Cabañas",
        "San Vicente",
        "Nueva Concepción",
    ],
}
_PRODUCTS = [
    "Cafetaleros",
    "Hortalizas",
    "Frijol y Maíz",
    "Miel",
    "Cacao",
    "Lácteos",
    "Papa",
    "Semillas Criollas",
    "Artesanías",
]
_FIRST = [
    "María",
    "José",
    "Elena",
    "Carlos",
    "Juana",
    "Miguel",
    "Rosa",
    "Pedro",
    "Teresa",
    "Santos",
    "Lorena",
    "Manuel",
    "Dora",
    "Felipe",
    "Alba",
    "Rigoberto",
    "Marta",
    "Tomás",
    "Isabel",
]
_LAST = [
    "López",
    "Hernández",
    "García",
    "Martínez",
    "Cruz",
    "Reyes",
    "Flores",
    "Morales",
    "Chávez",
    "Pop",
    "Tzul",
    "Aguilar",
    "Rodríguez",
    "Castillo",
    "Mendoza",
    "Sánchez",
    "Guardado",
    "Velásquez",
    "Coc",
]


def local_organisations() -> list[tuple[str, str, int]]:
    """57 local organisations: (name, country, index of the partner agency they work with)."""
    result: list[tuple[str, str, int]] = []
    used: dict[str, int] = {}
    for partner_index, partner in enumerate(PARTNERS):
        country = partner[2]
        for k in range(3):
            places = _PLACES[country]
            place = places[used.get(country, 0) % len(places)]
            used[country] = used.get(country, 0) + 1
            names = {name for name, _, _ in result}
            for shift in range(len(_PRODUCTS)):
                product = _PRODUCTS[(partner_index * 3 + k + shift) % len(_PRODUCTS)]
                name = f"{_LOCAL_KINDS[k]} {product} de {place}"
                if name not in names:
                    break
            result.append((name, country, partner_index))
    return result


def local_contact(index: int) -> str:
    return f"{_FIRST[index % len(_FIRST)]} {_LAST[(index * 7) % len(_LAST)]}"


def email_for(name: str, domain: str) -> str:
    table = str.maketrans("áéíóúñüÁÉÍÓÚÑ", "aeiounuAEIOUN")
    local = ".".join(name.translate(table).lower().split())
    return f"{local}@{domain}.example.org"
