"""What the user sets: the settings declaration, key profiles, and calibration of an empty screen."""
