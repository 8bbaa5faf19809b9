"""Pure domain model: states, transitions and the rules of closing a deal. No framework imports here."""
