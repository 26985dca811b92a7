"""A local Twilio-compatible server (messages, lists, errors, callbacks, inbound webhooks): see simulator.py."""
