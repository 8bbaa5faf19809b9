"""The currencies an amount may be in: ISO 4217's list one of current codes.

Generated once with Babel's CLDR data (the tender currencies of every territory today, plus list one's fund codes and
SVC, which ISO still lists) and kept here as data, so the domain needs no library to check a code. Left out on
purpose: withdrawn codes (HRK, ZWL, ANG, ...) and the X-codes that are not money a deal is priced in — precious metals
(XAU, XAG, XPD, XPT), units of account and bond units (XDR, XSU, XUA, XBA-XBD), the test code XTS and "no currency"
XXX. The X-codes of real currencies (XAF, XCD, XCG, XOF, XPF) are kept."""

from __future__ import annotations

from typing import Final

CURRENT_ISO_4217: Final[frozenset[str]] = frozenset(
    (
        "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD "
        "CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
        "GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW "
        "KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
        "NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP "
        "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS "
        "VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG "
    ).split()
)
