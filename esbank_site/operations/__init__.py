"""What an operator runs against a live bank: the audit and the rebuild.

Skip on a first read: none of it is needed to learn the library, and all of
it reads the bank through the same public interfaces a page does.
"""
