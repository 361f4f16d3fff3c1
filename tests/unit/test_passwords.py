"""Console password hashes: argon2id, salted, verified in constant time; older scrypt hashes still verify."""

from charter.iam.passwords import hash_password, needs_rehash, scrypt_hash, verify_password


def test_a_password_verifies_against_its_own_hash_only():
    stored = hash_password("Corr3ct-horse")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "Corr3ct-horse" not in stored
    assert verify_password("Corr3ct-horse", stored)
    assert not verify_password("corr3ct-horse", stored)
    assert not verify_password("", stored)
    assert not needs_rehash(stored)


def test_the_same_password_hashes_differently_each_time():
    assert hash_password("Same-pass-1") != hash_password("Same-pass-1")


def test_an_old_scrypt_hash_still_verifies_and_asks_to_be_replaced():
    stored = scrypt_hash("Corr3ct-horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("Corr3ct-horse", stored)
    assert not verify_password("Corr3ct-hors", stored)
    assert needs_rehash(stored)


def test_a_weaker_argon2_hash_asks_to_be_replaced():
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Corr3ct-horse")
    assert verify_password("Corr3ct-horse", weak)
    assert needs_rehash(weak)


def test_a_damaged_or_foreign_hash_never_verifies():
    assert not verify_password("x", "bcrypt$whatever")
    assert not verify_password("x", "scrypt$not$numbers$here$AAAA$AAAA")
    assert not verify_password("x", "$argon2id$v=19$m=65536,t=3,p=4$broken")
    assert not verify_password("x", "")
