"""Chinese data standards: identity numbers, credit codes, divisions, masking, 商用密码.

Pure functions with no dependency on the rest of citybase.  The SQL mirror of the validators
and maskers lives in :mod:`citybase.standards.sql` (imported lazily: it needs duckdb).
"""

from __future__ import annotations

from .crypto import (
    DecryptionError,
    hmac_sm3,
    sm3,
    sm3_hex,
    sm4_decrypt_gcm,
    sm4_encrypt_block,
    sm4_encrypt_gcm,
)
from .division import (
    DivisionInfo,
    DivisionName,
    all_division_codes,
    current_division_codes,
    division_ever_existed,
    is_valid_division_code,
    lookup_division,
)
from .enums import DataElement, DataGrade, OpenType, Sensitivity, ShareType, parse_open_type, parse_share_type
from .formats import is_valid_date, is_valid_mobile, is_valid_postcode, normalize_mobile
from .idcard import IdCheck, check_id, id_check_char, is_valid_id, normalize_id, upgrade_15_to_18
from .masking import (
    mask_address,
    mask_bank_card,
    mask_email,
    mask_generic,
    mask_id_number,
    mask_mobile,
    mask_name,
    mask_plate,
    mask_value,
)
from .orgcode import check_org_code, normalize_org_code, org_code_check_char
from .pseudonym import pseudonymize
from .uscc import UsccCheck, check_uscc, is_valid_uscc, uscc_check_char

__all__ = [
    "DataElement",
    "DataGrade",
    "DecryptionError",
    "DivisionInfo",
    "DivisionName",
    "IdCheck",
    "OpenType",
    "Sensitivity",
    "ShareType",
    "UsccCheck",
    "all_division_codes",
    "check_id",
    "check_org_code",
    "check_uscc",
    "current_division_codes",
    "division_ever_existed",
    "hmac_sm3",
    "id_check_char",
    "is_valid_date",
    "is_valid_division_code",
    "is_valid_id",
    "is_valid_mobile",
    "is_valid_postcode",
    "is_valid_uscc",
    "lookup_division",
    "mask_address",
    "mask_bank_card",
    "mask_email",
    "mask_generic",
    "mask_id_number",
    "mask_mobile",
    "mask_name",
    "mask_plate",
    "mask_value",
    "normalize_id",
    "normalize_mobile",
    "normalize_org_code",
    "org_code_check_char",
    "parse_open_type",
    "parse_share_type",
    "pseudonymize",
    "sm3",
    "sm3_hex",
    "sm4_decrypt_gcm",
    "sm4_encrypt_block",
    "sm4_encrypt_gcm",
    "upgrade_15_to_18",
    "uscc_check_char",
]
