from livekey.entry import run

run()
