"""Console password hashes: scrypt, salted, verified in constant time."""

from charter.iam.passwords import hash_password, verify_password


def test_a_password_verifies_against_its_own_hash_only():
    stored = hash_password("Corr3ct-horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "Corr3ct-horse" not in stored
    assert verify_password("Corr3ct-horse", stored)
    assert not verify_password("corr3ct-horse", stored)
    assert not verify_password("", stored)


def test_the_same_password_hashes_differently_each_time():
    assert hash_password("Same-pass-1") != hash_password("Same-pass-1")


def test_a_damaged_or_foreign_hash_never_verifies():
    assert not verify_password("x", "bcrypt$whatever")
    assert not verify_password("x", "scrypt$not$numbers$here$AAAA$AAAA")
    assert not verify_password("x", "")
