/* The inline CSS and JavaScript of the HTML report (report_html_assets.c). */
#ifndef SF_REPORT_HTML_H
#define SF_REPORT_HTML_H

extern const char sf_html_css[];
extern const char sf_html_js[];

#endif
