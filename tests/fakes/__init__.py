"""Fakes of the outside world the tests talk to over real connections."""
