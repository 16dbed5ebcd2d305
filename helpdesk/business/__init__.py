"""The business side of the helpdesk: invoices, credit notes, customers, privacy.

The modules here that are pure logic (:mod:`~helpdesk.business.invoicemath`,
:mod:`~helpdesk.business.numbering`) do no I/O, so that the money rules can be
tested exactly on their own; the parts that keep records use the store.
"""
