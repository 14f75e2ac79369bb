"""The Accounts notification log over HTTP: served here, followed from afar.

``views`` serves it as the library's JSON sections; ``client`` reads them
back from another machine as a ``NotificationLog``; ``follower`` is what
``manage.py follow_notifications`` does with them.
"""
