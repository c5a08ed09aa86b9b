def test_accounts(accounts):
    assert len(accounts) == 10
