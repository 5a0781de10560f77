"""``python -m tapegrad``: train a small classifier, check its gradient, time backprop.

See ``tapegrad._demo`` (``python -m tapegrad --help`` lists the options).
"""

from tapegrad._demo import main

if __name__ == "__main__":
    raise SystemExit(main())
