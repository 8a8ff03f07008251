"""Names the Envoy config generator and the ext_proc service share.

Both import from here and neither owns it, so a rename cannot leave them disagreeing and the
service never imports the generator.
"""
