"""A patient's time zone, for quiet hours: from their address, else their number, else the practice's.

The address wins over the number: a mobile number keeps its area code when its owner moves, an
address on file is where they live. In the states a zone line crosses, the state gives its main
zone and the area code refines it when the code lies wholly or mostly on the other side (West
Kentucky, East Tennessee, the Florida panhandle, NW Indiana, El Paso). Where no area code
separates the zones (the Idaho panhandle, Oregon's Malheur County, western Kansas, Nebraska and the
Dakotas, Michigan's four Central counties, Alaska's Aleutians west of 169°30'), the state's main
zone is used; those patients may get a reminder an hour off from what they expect, still well
inside 8am-9pm when the window is the default. Arizona (no DST) is `America/Phoenix`; the Navajo
Nation's DST is not modelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

EASTERN: Final = "America/New_York"
CENTRAL: Final = "America/Chicago"
MOUNTAIN: Final = "America/Denver"
ARIZONA: Final = "America/Phoenix"
PACIFIC: Final = "America/Los_Angeles"
ALASKA: Final = "America/Anchorage"
HAWAII: Final = "Pacific/Honolulu"
INDIANA: Final = "America/Indiana/Indianapolis"
MICHIGAN: Final = "America/Detroit"
KENTUCKY: Final = "America/Kentucky/Louisville"
IDAHO: Final = "America/Boise"

# USPS state code -> the zone most of the state's people live in.
STATE_ZONES: Final[dict[str, str]] = {
    "AL": CENTRAL, "AK": ALASKA, "AZ": ARIZONA, "AR": CENTRAL, "CA": PACIFIC, "CO": MOUNTAIN,
    "CT": EASTERN, "DE": EASTERN, "DC": EASTERN, "FL": EASTERN, "GA": EASTERN, "HI": HAWAII,
    "ID": IDAHO, "IL": CENTRAL, "IN": INDIANA, "IA": CENTRAL, "KS": CENTRAL, "KY": KENTUCKY,
    "LA": CENTRAL, "ME": EASTERN, "MD": EASTERN, "MA": EASTERN, "MI": MICHIGAN, "MN": CENTRAL,
    "MS": CENTRAL, "MO": CENTRAL, "MT": MOUNTAIN, "NE": CENTRAL, "NV": PACIFIC, "NH": EASTERN,
    "NJ": EASTERN, "NM": MOUNTAIN, "NY": EASTERN, "NC": EASTERN, "ND": CENTRAL, "OH": EASTERN,
    "OK": CENTRAL, "OR": PACIFIC, "PA": EASTERN, "RI": EASTERN, "SC": EASTERN, "SD": CENTRAL,
    "TN": CENTRAL, "TX": CENTRAL, "UT": MOUNTAIN, "VT": EASTERN, "VA": EASTERN, "WA": PACIFIC,
    "WV": EASTERN, "WI": CENTRAL, "WY": MOUNTAIN,
}  # fmt: skip

# Geographic NANP area codes of the 50 states and DC, by state; each takes its state's zone
# unless AREA_CODE_EXCEPTIONS says otherwise. Toll-free and non-geographic codes are absent.
_AREA_CODES_BY_STATE: Final[dict[str, str]] = {
    "AL": "205 251 256 334 659 938",
    "AK": "907",
    "AZ": "480 520 602 623 928",
    "AR": "327 479 501 870",
    "CA": "209 213 279 310 323 341 350 408 415 424 442 510 530 559 562 619 626 628 650 657 661 "
    "669 707 714 747 760 805 818 820 831 840 858 909 916 925 949 951",
    "CO": "303 719 720 970 983",
    "CT": "203 475 860 959",
    "DE": "302",
    "DC": "202 771",
    "FL": "239 305 321 352 386 407 448 561 645 656 689 727 754 772 786 813 850 863 904 941 954",
    "GA": "229 404 470 478 678 706 762 770 912 943",
    "HI": "808",
    "ID": "208 986",
    "IL": "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872",
    "IN": "219 260 317 463 574 765 812 930",
    "IA": "319 515 563 641 712",
    "KS": "316 620 785 913",
    "KY": "270 364 502 606 859",
    "LA": "225 318 337 504 985",
    "ME": "207",
    "MD": "227 240 301 410 443 667",
    "MA": "339 351 413 508 617 774 781 857 978",
    "MI": "231 248 269 313 517 586 616 679 734 810 906 947 989",
    "MN": "218 320 507 612 651 763 952",
    "MS": "228 601 662 769",
    "MO": "314 417 557 573 636 660 816",
    "MT": "406",
    "NE": "308 402 531",
    "NV": "702 725 775",
    "NH": "603",
    "NJ": "201 551 609 640 732 848 856 862 908 973",
    "NM": "505 575",
    "NY": "212 315 332 347 363 516 518 585 607 624 631 646 680 716 718 838 845 914 917 929 934",
    "NC": "252 336 472 704 743 828 910 919 980 984",
    "ND": "701",
    "OH": "216 220 234 283 326 330 380 419 436 440 513 567 614 740 937",
    "OK": "405 539 572 580 918",
    "OR": "458 503 541 971",
    "PA": "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878",
    "RI": "401",
    "SC": "803 821 839 843 854 864",
    "SD": "605",
    "TN": "423 615 629 731 865 901 931",
    "TX": "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 903 "
    "915 936 940 945 956 972 979",
    "UT": "385 435 801",
    "VT": "802",
    "VA": "276 434 540 571 703 757 804 826 948",
    "WA": "206 253 360 425 509 564",
    "WV": "304 681",
    "WI": "262 274 353 414 534 608 715 920",
    "WY": "307",
}

# Area codes on the other side of their state's zone line (wholly, or where most of their people
# live: 850/448 span Pensacola and Panama City (Central) and Tallahassee (Eastern); Central is the
# larger part).
AREA_CODE_EXCEPTIONS: Final[dict[str, str]] = {
    "850": CENTRAL,  # Florida panhandle
    "448": CENTRAL,  # Florida panhandle (overlay of 850)
    "219": CENTRAL,  # NW Indiana (Gary, Hammond)
    "270": CENTRAL,  # West Kentucky
    "364": CENTRAL,  # West Kentucky (overlay of 270)
    "423": EASTERN,  # East Tennessee (Chattanooga, Tri-Cities)
    "865": EASTERN,  # East Tennessee (Knoxville)
    "915": MOUNTAIN,  # El Paso
}

AREA_CODE_STATES: Final[dict[str, str]] = {
    code: state for state, codes in _AREA_CODES_BY_STATE.items() for code in codes.split()
}
AREA_CODE_ZONES: Final[dict[str, str]] = {
    code: AREA_CODE_EXCEPTIONS.get(code, STATE_ZONES[state]) for code, state in AREA_CODE_STATES.items()
}

_NANP_E164 = re.compile(r"^\+1([2-9]\d{2})[2-9]\d{6}$")


class ZoneSource(StrEnum):
    ADDRESS = "address"  # the address's state
    ADDRESS_AND_AREA_CODE = "address_and_area_code"  # a state the zone line crosses, refined by the number
    AREA_CODE = "area_code"
    PRACTICE = "practice"


@dataclass(frozen=True)
class PatientZone:
    """The zone a patient's quiet hours are counted in, and what it was taken from."""

    zone: ZoneInfo
    source: ZoneSource


def area_code(phone: str | None) -> str | None:
    """The NANP area code of an E.164 number (+1 and ten digits), else None."""
    if not phone:
        return None
    m = _NANP_E164.match(phone.strip())
    return m.group(1) if m else None


def patient_zone(*, state: str | None, phone: str | None, practice_zone: str) -> PatientZone:
    """The patient's IANA zone: the address's state (refined by the number's area code where the
    state spans zones and the code is in that state), else the area code's, else the practice's."""
    code = area_code(phone)
    state_code = state.strip().upper() if state else None
    if state_code is not None and state_code in STATE_ZONES:
        if code is not None and AREA_CODE_STATES.get(code) == state_code and code in AREA_CODE_EXCEPTIONS:
            return PatientZone(ZoneInfo(AREA_CODE_ZONES[code]), ZoneSource.ADDRESS_AND_AREA_CODE)
        return PatientZone(ZoneInfo(STATE_ZONES[state_code]), ZoneSource.ADDRESS)
    if code is not None and code in AREA_CODE_ZONES:
        return PatientZone(ZoneInfo(AREA_CODE_ZONES[code]), ZoneSource.AREA_CODE)
    return PatientZone(ZoneInfo(practice_zone), ZoneSource.PRACTICE)
