//! Schema compiler and code emitters for zeroipc (being built: see issues 3 and 4).
