"""Understanding a patient's scheduling answers: when they want to come, which offered slot they
pick, yes or no, and which real free slots to offer them. Pure: no clock is read, no I/O."""
