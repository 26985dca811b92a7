"""The platform every domain uses: extensions, configuration, database helpers, the queue,
signals, access, API and form helpers, validation, stored files, sheets, PDF, time, i18n.

Core imports no domain (the import-linter contract in ``.importlinter`` says so).
"""
