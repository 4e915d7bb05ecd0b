"""The console's date formats per language (settings.FORMAT_MODULE_PATH).

Every datetime a page shows carries its UTC offset, written ``UTC+0800``: Django's ``O``
gives the numeric offset, which no one can misread, where ``T`` would print ``CST`` (China
Standard Time, but also US Central and Cuba Standard Time) and ``e`` the long zone name.
Settings a module leaves out come from Django's own format for that language.
"""
