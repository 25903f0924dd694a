"""On-disk format of spec version 2: ids, header, and the four metadata files."""
