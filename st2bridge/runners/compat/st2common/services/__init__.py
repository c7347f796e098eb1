"""st2common.services, as far as actions use them."""
