"""Class similarity: copied work found across a class, with evidence a TA can judge.

- :mod:`.fingerprints`: normalised Python tokens, stable k-gram hashes, winnowing;
- :mod:`.documents`: each student's own code as one document, and the course's boilerplate;
- :mod:`.compare`: the class index that prunes pairs, and the full comparison of a pair;
- :mod:`.clues`: what only an ML grader sees (predictions, measured figures, odd choices);
- :mod:`.run`: one class, end to end, written to ``gradebook/integrity/``.

Nothing here changes a score.
"""
