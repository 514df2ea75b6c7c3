"""The signed platform hash list: the file format platforms receive, its deltas and its signing keys."""
