"""Teaching: the lessons and their experiments, the class gallery, shareable links."""
