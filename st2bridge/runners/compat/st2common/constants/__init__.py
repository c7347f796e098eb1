"""st2common.constants, as far as actions use them."""
