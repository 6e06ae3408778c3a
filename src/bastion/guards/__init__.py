"""Controls on the message path. One module per control; each implements :class:`Guard`."""
