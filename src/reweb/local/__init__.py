"""`reweb local`: an emulator of the AWS front doors and of Lambda around reweb (see main.py)."""
