"""What a sweep runs on: the resources a trial holds (more modules move here: Ray start-up, storage, interrupts)."""
