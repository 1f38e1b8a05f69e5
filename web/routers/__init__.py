"""One router per resource; every route declares its rule (see ``web.rights``)."""
